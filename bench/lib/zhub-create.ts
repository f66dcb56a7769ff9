/**
 * The zhub side of the flist-create benchmark: `zhub flist create` as users install it, i.e. the package of
 * `npm run pack:zhub` (docs/cli.md "Install": the CLI and the chunk workers bundled into plain JavaScript),
 * staged in dist/zhub/ and run with this Node. (The checkout's own bin, converter/bin/zhub.js, compiles the
 * TypeScript sources through tsx at every start: ≈ 0.5 CPU-s more, docs/benchmarks.md "flist create".)
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { timed } from "./timed.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/**
 * Builds the package (a few seconds) and returns the path of its zhub.mjs; `BENCH_ZHUB_BIN` names another zhub
 * to measure instead (e.g. converter/bin/zhub.js, or a package built from an older commit).
 */
export function buildZhub(): string {
  if (process.env.BENCH_ZHUB_BIN) return path.resolve(process.env.BENCH_ZHUB_BIN);
  const result = spawnSync("npm", ["run", "-s", "pack:zhub"], { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`npm run pack:zhub failed (exit ${result.status}): ${result.stderr}`);
  return path.join(ROOT, "dist", "zhub", "zhub.mjs");
}

/** `zhub flist create --json`'s `cpu` figures (converter/src/cli/flist.ts cpuFigures). */
export interface ZhubCpu {
  total: number;
  main?: { startup: number; ingest: number; write: number };
  hashing: number;
  compression: number;
  encryption: number;
  workerOverhead: number;
  other?: number;
}

export interface ZhubRun {
  wall: number;
  /** user + system CPU seconds of the process (every thread). */
  cpu: number;
  rssMB: number;
  /** Absent from an older zhub's output. */
  stages?: ZhubCpu;
  md5: string;
  written: number;
}

export function runZhub(bin: string, tarball: string, out: string, store: string, backend?: string): ZhubRun {
  const args = [bin, "flist", "create", "--json", "--store", store, ...(backend ? ["--backend", backend] : []), tarball, out];
  const t = timed(process.execPath, args);
  const summary = JSON.parse(t.stdout) as { md5: string; cpu?: ZhubCpu; stats: { pipeline: { written: number } } };
  return { wall: t.wall, cpu: t.user + t.sys, rssMB: t.rssMB, stages: summary.cpu, md5: summary.md5, written: summary.stats.pipeline.written };
}
