/**
 * `zhub flist create` benchmark, next to the reference figures of ../shared/bench/zflist-baseline.md:
 *
 *  1. regenerate the 512 MiB, 2,997-file tree with ../shared/bench/gen-tree.py (fixed seed) into
 *     bench/.data/flist-create/tree (git-ignored) if absent, and tar.gz it exactly as the baseline says;
 *  2. run `node converter/bin/zhub.js flist create --store file://… tree.tar.gz out.flist` into a fresh store,
 *     then again into the same store: wall time (process start to exit, as zflist was timed), MiB/s of source
 *     data, peak RSS (`/usr/bin/time -v`, the whole process with its worker threads), chunks written / skipped;
 *  3. check the distinct chunk keys of the flist: zflist's are 3,817 for this tree.
 *
 * Figures are printed; the process exits non-zero only if a run fails or the key count differs.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readFlist } from "../converter/src/flist/index.ts";
import type { DirNode } from "../converter/src/flist/model.ts";
import { TARBALL, TREE_DATA, prepareTree } from "./lib/tree.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const DATA = TREE_DATA;
const BIN = path.join(ROOT, "converter", "bin", "zhub.js");
const SOURCE_BYTES = 536_870_912;
const REFERENCE = { totalSeconds: 7.7, goalSeconds: 5.1, stretchSeconds: 3.9, rssMB: 300, keys: 3817, tarballBytes: 375_116_684 };

function log(message: string): void {
  console.log(`[flist-create] ${message}`);
}

interface Measure {
  wallSeconds: number;
  innerSeconds: number;
  rssMB: number;
  written: number;
  skipped: number;
  chunks: number;
  md5: string;
}

function createOnce(store: string, out: string): Measure {
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-v", process.execPath, BIN, "flist", "create", "--json", "--store", `file://${store}`, TARBALL, out], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`zhub flist create failed (exit ${result.status}): ${result.stderr}`);
  const rssKB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1] ?? NaN);
  const summary = JSON.parse(result.stdout) as {
    md5: string;
    seconds: number;
    stats: { pipeline: { chunks: number; written: number; skipped: number } };
  };
  return {
    wallSeconds,
    innerSeconds: summary.seconds,
    rssMB: (rssKB * 1024) / 1e6,
    written: summary.stats.pipeline.written,
    skipped: summary.stats.pipeline.skipped,
    chunks: summary.stats.pipeline.chunks,
    md5: summary.md5,
  };
}

function distinctKeys(dir: DirNode, into = new Set<string>()): Set<string> {
  for (const child of dir.children) {
    if (child.kind === "dir") distinctKeys(child, into);
    else if (child.kind === "file") for (const block of child.blocks) into.add(Buffer.from(block.hash).toString("hex"));
  }
  return into;
}

function row(label: string, m: Measure): string {
  const mibs = SOURCE_BYTES / (1024 * 1024) / m.wallSeconds;
  return [
    label.padEnd(22),
    `${m.wallSeconds.toFixed(2)} s`.padStart(9),
    `(${m.innerSeconds.toFixed(2)} s in-process)`.padStart(24),
    `${mibs.toFixed(0)} MiB/s`.padStart(11),
    `${m.rssMB.toFixed(0)} MB RSS`.padStart(12),
    `chunks ${m.chunks}: ${m.written} written, ${m.skipped} skipped`,
  ].join("  ");
}

async function main(): Promise<void> {
  prepareTree(log);
  const tarballBytes = fs.statSync(TARBALL).size;
  const store = path.join(DATA, "store");
  fs.rmSync(store, { recursive: true, force: true });
  const out = path.join(DATA, "tree.flist");
  log(`tar.gz: ${tarballBytes} bytes (baseline archive: ${REFERENCE.tarballBytes}); source data ${SOURCE_BYTES} bytes`);

  const fresh = createOnce(store, out);
  const keys = distinctKeys((await readFlist(out)).root).size;
  const again = createOnce(store, `${out}.again`);

  console.log("");
  console.log(row("fresh store", fresh));
  console.log(row("same store again", again));
  console.log("");
  console.log(`reference (zflist 2.3.0, same machine kind): ${REFERENCE.totalSeconds} s tar.gz → flist (≈67 MiB/s), RSS 15 MB`);
  console.log(`goal ≤ ${REFERENCE.goalSeconds} s (1.5×), stretch ≤ ${REFERENCE.stretchSeconds} s (2×), peak RSS < ${REFERENCE.rssMB} MB`);
  const verdict = (s: number) =>
    s <= REFERENCE.stretchSeconds ? "stretch met" : s <= REFERENCE.goalSeconds ? "goal met" : "goal NOT met";
  console.log(`fresh: ${(REFERENCE.totalSeconds / fresh.wallSeconds).toFixed(2)}× zflist, ${verdict(fresh.wallSeconds)}; RSS ${fresh.rssMB < REFERENCE.rssMB ? "under" : "OVER"} ${REFERENCE.rssMB} MB`);
  console.log(`second run writes ${again.written} chunks (must be 0); identical flist: ${fresh.md5 === again.md5 ? "yes" : "NO"} (md5 ${fresh.md5})`);
  console.log(`distinct chunk keys: ${keys} (zflist: ${REFERENCE.keys}) ${keys === REFERENCE.keys ? "OK" : "MISMATCH"}`);
  fs.rmSync(`${out}.again`, { force: true });
  if (keys !== REFERENCE.keys || again.written !== 0) process.exitCode = 1;
}

await main();
