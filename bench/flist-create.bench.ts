/**
 * `zhub flist create` against the reference pipeline (`tar -xzf` + `zflist putdir` + `zflist commit`), measured
 * side by side in one run (docs/benchmarks.md "flist create"):
 *
 *  1. the benchmark tree (bench/lib/gen-tree.ts, fixed seed; 512 MiB by default, `BENCH_TREE_MIB` for a smaller
 *     one) and its tar.gz, cached in bench/.data/flist-create/;
 *  2. `BENCH_RUNS` rounds (default 3), each running both sides into a fresh real 0-db (zdb 2.0.7) and into the
 *     file store (`file://`; zflist has none, so its side stores nothing there), alternating which side goes first;
 *  3. min / median wall per side, the ratio of the medians, CPU seconds per stage (median of the runs), peak RSS;
 *  4. the goals, pass or fail: wall ≤ 0.5× the reference's, total CPU ≤ 2× (zflist putdir + tar -xzf), RSS < 300 MB.
 *
 * Wall times on a shared machine move with the other work on it; the CPU seconds much less: both are printed.
 * The process exits non-zero only if a run fails or the two sides' chunk keys differ (byte compatibility).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { startZdb } from "../converter/test/support/zdb.ts";
import { readFlist } from "../converter/src/flist/index.ts";
import type { DirNode } from "../converter/src/flist/model.ts";
import { prepareTree, TREE_DATA } from "./lib/tree.ts";
import { type ReferenceRun, runReference } from "./lib/reference-pipeline.ts";
import { buildZhub, runZhub, type ZhubRun } from "./lib/zhub-create.ts";
import { median, processCpu } from "./lib/timed.ts";

const MIB = Number(process.env.BENCH_TREE_MIB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GOALS = { ratio: 0.5, cpuFactor: 2, rssMB: 300 };
/** zflist's distinct chunk keys for the default tree (docs/benchmarks.md). */
const DEFAULT_KEYS = 3817;

type StoreKind = "zdb" | "file";

function log(message: string): void {
  console.log(`[flist-create] ${message}`);
}

function distinctKeys(dir: DirNode, into = new Set<string>()): Set<string> {
  for (const child of dir.children) {
    if (child.kind === "dir") distinctKeys(child, into);
    else if (child.kind === "file") for (const block of child.blocks) into.add(Buffer.from(block.hash).toString("hex"));
  }
  return into;
}

/** CPU seconds of node's zlib alone on the archive (what zhub's gunzip costs, on zlib's libuv threads). */
async function gunzipAlone(tarball: string): Promise<number> {
  const before = process.cpuUsage();
  await pipeline(
    fs.createReadStream(tarball, { highWaterMark: 1024 * 1024 }),
    createGunzip({ chunkSize: 256 * 1024 }),
    new Writable({ write: (_c, _e, done) => done() }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

interface ZhubSample extends ZhubRun { zdb: number }
interface RefSample extends ReferenceRun { zdb: number }

async function withStore<T>(kind: StoreKind, work: string, run: (store: string, port?: number) => T): Promise<T & { zdb: number }> {
  if (kind === "file") {
    const dir = path.join(work, "store");
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      return { ...run(`file://${dir}`), zdb: 0 };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const zdb = await startZdb();
  try {
    const before = processCpu(zdb.pid);
    const result = run(zdb.url, zdb.port);
    return { ...result, zdb: processCpu(zdb.pid) - before };
  } finally {
    await zdb.destroy();
  }
}

const f2 = (n: number) => n.toFixed(2);
const pad = (s: string, n: number) => s.padEnd(n);
const num = (n: number | undefined, w = 8) => (n === undefined ? "—" : f2(n)).padStart(w);

async function main(): Promise<void> {
  const { tarball } = prepareTree(log, MIB);
  const work = path.join(TREE_DATA, "run");
  fs.mkdirSync(work, { recursive: true });
  log(`tree ${MIB} MiB, tar.gz ${fs.statSync(tarball).size} bytes; ${RUNS} rounds; load average ${os.loadavg().map(f2).join(" ")} on ${os.cpus().length} cores`);
  log(process.env.BENCH_ZHUB_BIN ? `zhub: ${process.env.BENCH_ZHUB_BIN}` : "building the zhub package (npm run pack:zhub)…");
  const bin = buildZhub();
  const gunzip = await gunzipAlone(tarball);

  const zhub: Record<StoreKind, ZhubSample[]> = { zdb: [], file: [] };
  const ref: Record<StoreKind, RefSample[]> = { zdb: [], file: [] };
  const zhubFlist = path.join(work, "zhub.flist");
  const refFlist = path.join(work, "ref.flist");
  for (let round = 0; round < RUNS; round++) {
    for (const kind of ["zdb", "file"] as const) {
      const sides = [
        async () => {
          const s = await withStore(kind, work, (store, port) => runZhub(bin, tarball, zhubFlist, store, port ? `127.0.0.1:${port}` : undefined));
          zhub[kind].push(s);
          log(`round ${round + 1} ${kind}: zhub ${f2(s.wall)} s, ${f2(s.cpu)} CPU-s, ${s.rssMB.toFixed(0)} MB`);
        },
        async () => {
          const s = await withStore(kind, work, (_store, port) => runReference(tarball, refFlist, path.join(work, "ref"), port));
          ref[kind].push(s);
          log(`round ${round + 1} ${kind}: reference ${f2(s.wall)} s, ${f2(s.extract + s.putdir + s.commit)} CPU-s, ${s.rssMB.toFixed(0)} MB`);
        },
      ];
      // Alternate which side runs first, so neither always meets the other's leftovers (page cache, writeback).
      if (round % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
  }

  // Byte compatibility: the chunk keys of the last zdb runs' flists are the same set.
  const zhubKeys = distinctKeys((await readFlist(zhubFlist)).root);
  const refKeys = distinctKeys((await readFlist(refFlist)).root);
  const sameKeys = zhubKeys.size === refKeys.size && [...zhubKeys].every((k) => refKeys.has(k));

  console.log("");
  console.log(`${pad("side", 26)}${"min s".padStart(8)}${"median s".padStart(10)}${"CPU-s".padStart(8)}${"peak RSS".padStart(10)}`);
  for (const kind of ["zdb", "file"] as const) {
    const row = (label: string, walls: number[], cpus: number[], rss: number[]) =>
      console.log(`${pad(label, 26)}${num(Math.min(...walls))}${num(median(walls), 10)}${num(median(cpus))}${`${Math.max(...rss).toFixed(0)} MB`.padStart(10)}`);
    const z = zhub[kind];
    const r = ref[kind];
    const store = kind === "zdb" ? "fresh 0-db" : "file store";
    row(`zhub flist create, ${store}`, z.map((s) => s.wall), z.map((s) => s.cpu), z.map((s) => s.rssMB));
    row(`reference, ${kind === "zdb" ? store : "no store"}`, r.map((s) => s.wall), r.map((s) => s.extract + s.putdir + s.commit), r.map((s) => s.rssMB));
    console.log(`${pad("  ratio of the medians", 26)}${num(median(z.map((s) => s.wall)) / median(r.map((s) => s.wall)), 18)}`);
  }

  // CPU per stage, medians over the zdb runs.
  const z = zhub.zdb;
  const r = ref.zdb;
  const m = (f: (s: ZhubSample) => number | undefined) => {
    const xs = z.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  const mr = (f: (s: RefSample) => number) => median(r.map(f));
  const other = m((s) => s.stages?.other);
  console.log("");
  console.log(`CPU-s per stage (user+sys, medians of the fresh 0-db runs; zdb's own CPU apart)`);
  console.log(`${pad("stage", 44)}${"zhub".padStart(8)}${"reference".padStart(11)}`);
  const stage = (label: string, a: number | undefined, b?: number) => console.log(`${pad(label, 44)}${num(a)}${num(b, 11)}`);
  stage("start-up (main thread)", m((s) => s.stages?.main?.startup));
  stage("gunzip (zlib alone, measured apart)", gunzip);
  stage("gunzip + untar (tar -xzf)", undefined, mr((s) => s.extract));
  stage("untar, cutting, store client (main thread)", m((s) => s.stages?.main?.ingest));
  stage("chunking+hashing (BLAKE2b ×2, workers)", m((s) => s.stages?.hashing));
  stage("compression (snappy, workers)", m((s) => s.stages?.compression));
  stage("encryption (XXTEA, workers)", m((s) => s.stages?.encryption));
  stage("workers' hand-off and GC", m((s) => s.stages?.workerOverhead));
  stage("chunk work + store client (zflist putdir)", undefined, mr((s) => s.putdir));
  stage("sqlite/metadata + packing", m((s) => s.stages?.main?.write), mr((s) => s.commit));
  stage("rest: GC helper threads, file reads", other !== undefined ? Math.max(0, other - gunzip) : undefined);
  stage("total of the process(es)", m((s) => s.cpu), mr((s) => s.extract + s.putdir + s.commit));
  stage("store writes, server side (0-db)", m((s) => s.zdb), mr((s) => s.zdb));

  const ratio = median(z.map((s) => s.wall)) / median(r.map((s) => s.wall));
  const cpuBudget = GOALS.cpuFactor * (mr((s) => s.putdir) + mr((s) => s.extract));
  const zhubCpu = median(z.map((s) => s.cpu));
  const rss = Math.max(...zhub.zdb.map((s) => s.rssMB), ...zhub.file.map((s) => s.rssMB));
  const verdict = (ok: boolean) => (ok ? "pass" : "FAIL");
  console.log("");
  console.log(`goal wall ≤ ${GOALS.ratio}× the reference (fresh 0-db, medians): ${f2(ratio)}× ${verdict(ratio <= GOALS.ratio)}`);
  console.log(`goal CPU ≤ ${GOALS.cpuFactor}× (zflist putdir + tar -xzf) = ${f2(cpuBudget)} CPU-s: ${f2(zhubCpu)} CPU-s ${verdict(zhubCpu <= cpuBudget)}`);
  console.log(`goal peak RSS < ${GOALS.rssMB} MB: ${rss.toFixed(0)} MB ${verdict(rss < GOALS.rssMB)}`);
  const expected = MIB === 512 ? ` (the default tree: ${DEFAULT_KEYS})` : "";
  console.log(`chunk keys: zhub ${zhubKeys.size}, reference ${refKeys.size}${expected}: ${sameKeys ? "same set" : "DIFFERENT"}`);
  // (The 0-db runs' flists name their own zdb port in the backend metadata; the file store runs name none.)
  const md5s = new Set(zhub.file.map((s) => s.md5));
  console.log(`zhub flists of the file store runs: ${md5s.size === 1 ? "identical" : "DIFFERENT"} (md5 ${[...md5s].join(", ")})`);
  fs.rmSync(work, { recursive: true, force: true });
  if (!sameKeys || (MIB === 512 && zhubKeys.size !== DEFAULT_KEYS) || md5s.size !== 1) process.exitCode = 1;
}

await main();
