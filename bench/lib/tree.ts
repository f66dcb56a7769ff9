/**
 * The 512 MiB, 2,997-file benchmark tree of ../shared/bench/zflist-baseline.md and its tar.gz, made once and cached
 * in bench/.data/flist-create/ (git-ignored) for every benchmark that needs them (flist-create, hub-upload).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const SHARED = path.resolve(ROOT, "..", "shared", "bench");
export const TREE_DATA = path.join(ROOT, "bench", ".data", "flist-create");
export const TREE = path.join(TREE_DATA, "tree");
export const TARBALL = path.join(TREE_DATA, "tree.tar.gz");

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
}

/** Generates the tree (gen-tree.py, default seed) and archives it as the baseline says, unless already done. */
export function prepareTree(log: (message: string) => void): void {
  fs.mkdirSync(TREE_DATA, { recursive: true });
  // The marker sits next to the tree, not in it (it would change the archived input); a half-generated tree
  // from an interrupted run has no marker and is regenerated.
  const marker = path.join(TREE_DATA, "tree.complete");
  if (!fs.existsSync(marker)) {
    log("generating the 512 MiB tree (gen-tree.py, default seed)…");
    fs.rmSync(TREE, { recursive: true, force: true });
    fs.rmSync(TARBALL, { force: true });
    run("python3", [path.join(SHARED, "gen-tree.py"), TREE]);
    fs.writeFileSync(marker, "");
  }
  if (!fs.existsSync(TARBALL)) {
    log("archiving it as zflist-baseline.md says (tar --format=gnu --sort=name --numeric-owner -czf)…");
    run("tar", ["--format=gnu", "--sort=name", "--numeric-owner", "-C", TREE, "-czf", `${TARBALL}.tmp`, "."]);
    fs.renameSync(`${TARBALL}.tmp`, TARBALL);
  }
}
