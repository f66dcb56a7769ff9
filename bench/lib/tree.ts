/**
 * The benchmark tree (bench/lib/gen-tree.ts, fixed seed) and its tar.gz, made once per size and cached in
 * bench/.data/flist-create/ (git-ignored) for every benchmark that needs them (flist-create, hub-upload).
 * The default is the 512 MiB, 2,997-file tree of the reference measurements (docs/benchmarks.md "flist create");
 * a smaller one (`BENCH_TREE_MIB`) scales the number of small files with it, for quick runs.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { generateTree } from "./gen-tree.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const TREE_DATA = path.join(ROOT, "bench", ".data", "flist-create");
export const TREE = path.join(TREE_DATA, "tree");
export const TARBALL = path.join(TREE_DATA, "tree.tar.gz");
/** gen-tree's digest of the default tree (docs/benchmarks.md): a port that drifted would be caught here. */
export const DEFAULT_TREE_DIGEST = "00a7eda52a8d4e6d7bf2c8ff4376f0cbd68b4592a93c579b3f392a8ae482bdb7";

export interface TreeFiles {
  mib: number;
  tree: string;
  tarball: string;
}

/** Where the tree of `mib` MiB lives (the default size keeps the historical paths). */
export function treeFiles(mib = 512): TreeFiles {
  const base = mib === 512 ? TREE_DATA : path.join(TREE_DATA, `${mib}mib`);
  return { mib, tree: path.join(base, "tree"), tarball: path.join(base, "tree.tar.gz") };
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
}

/** Generates the tree and archives it as the reference measurements did, unless already done. */
export function prepareTree(log: (message: string) => void, mib = 512): TreeFiles {
  const files = treeFiles(mib);
  const dir = path.dirname(files.tree);
  fs.mkdirSync(dir, { recursive: true });
  // The marker sits next to the tree, not in it (it would change the archived input); a half-generated tree
  // from an interrupted run has no marker and is regenerated.
  const marker = path.join(dir, "tree.complete");
  if (!fs.existsSync(marker)) {
    log(`generating the ${mib} MiB tree (bench/lib/gen-tree.ts, default seed)…`);
    fs.rmSync(files.tree, { recursive: true, force: true });
    fs.rmSync(files.tarball, { force: true });
    const made = generateTree(files.tree, { totalMiB: mib, smallFiles: Math.max(1, Math.round((2960 * mib) / 512)) });
    if (mib === 512 && made.digest !== DEFAULT_TREE_DIGEST) throw new Error(`tree digest ${made.digest}, expected ${DEFAULT_TREE_DIGEST}`);
    fs.writeFileSync(marker, "");
  }
  if (!fs.existsSync(files.tarball)) {
    log("archiving it (tar --format=gnu --sort=name --numeric-owner -czf)…");
    run("tar", ["--format=gnu", "--sort=name", "--numeric-owner", "-C", files.tree, "-czf", `${files.tarball}.tmp`, "."]);
    fs.renameSync(`${files.tarball}.tmp`, files.tarball);
  }
  return files;
}
