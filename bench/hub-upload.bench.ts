/**
 * Hub overhead around the engine: time from request to published flist for the ~512 MiB tree tarball
 * through the local stack (the lean runtime + converter + redis-server, as the e2e tests start it, with the Worker
 * variables of `npm start`), against
 * `zhub flist create` alone on the same tarball into the same kind of store (a fresh redis-server). Goal: < 1.2×.
 *
 *  1. the tarball of bench/flist-create.bench.ts (bench/.data/flist-create/tree.tar.gz, generated if absent);
 *  2. `node converter/bin/zhub.js flist create --store redis://… tree.tar.gz out.flist`, wall time;
 *  3. the stack, streamed `PUT /api/flist/me/upload/tree.tar.gz?async=1`, then the job polled every 100 ms. The
 *     conversion overlaps the upload (docs/jobs-protocol.md "Streamed uploads"): the 202 comes once the archive is
 *     staged in R2 and read whole by the converter; then the rest of the conversion (→ "Image ready !") and the
 *     publish (→ succeeded);
 *  4. the stack again (chunk store emptied first), `zhub upload` as a user runs it (one streamed PUT or parts, as
 *     GET /api/limits says; job followed over SSE), wall time of the command;
 *  5. the CPU seconds of every process during 2 and 3 (/proc), and the floor they set on this machine's cores.
 *
 * Figures are printed; the process exits non-zero only if a run fails.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startRedis } from "../converter/test/support/redis.ts";
import { type Stack, startStack } from "../e2e/support/stack.ts";
import { TARBALL, prepareTree } from "./lib/tree.ts";
import { LOCAL_WORKER_VARS } from "../scripts/lib/local-vars.ts";
import { cpuDelta, descendantsCpu, endedChildrenCpu } from "./lib/cpu.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "converter", "bin", "zhub.js");
const USER = "bench";
const GOAL = 1.2;

function log(message: string): void {
  console.log(`[hub-upload] ${message}`);
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function runZhub(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, seconds: seconds(started) }));
  });
}

/** What a stack process is, by its command line (for the CPU figures). */
function processKind(command: string): string {
  if (command.includes("workerd")) return "workerd (the Worker, local R2/D1 emulation)";
  if (command.includes("wrangler")) return "wrangler dev";
  if (command.includes("service/main.ts")) return "converter";
  if (command.includes("redis-server")) return "redis";
  return "other";
}

interface Measured {
  seconds: number;
  /** CPU seconds spent meanwhile, by kind of process. */
  cpu: [string, number][];
}

function cpuLine(m: Measured): string {
  const total = m.cpu.reduce((n, [, v]) => n + v, 0);
  return `${total.toFixed(2)} CPU-s (${m.cpu.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}) in ${m.seconds.toFixed(2)} s wall`;
}

async function engineAlone(work: string): Promise<Measured> {
  const redis = await startRedis();
  try {
    const cpuBefore = endedChildrenCpu();
    const othersBefore = descendantsCpu(processKind);
    const result = await runZhub(["flist", "create", "--json", "--store", redis.url, TARBALL, path.join(work, "alone.flist")], {});
    if (result.code !== 0) throw new Error(`zhub flist create failed: ${result.stderr}`);
    const summary = JSON.parse(result.stdout) as { seconds: number; stats: { pipeline: { written: number } } };
    log(`zhub flist create → redis: ${result.seconds.toFixed(2)} s wall (${summary.seconds.toFixed(2)} s in-process, ${summary.stats.pipeline.written} chunks written)`);
    return { seconds: result.seconds, cpu: [["zhub", endedChildrenCpu() - cpuBefore], ...cpuDelta(othersBefore, descendantsCpu(processKind))] };
  } finally {
    await redis.stop();
  }
}

interface JobState {
  status: string;
  progress: number;
  message: string;
}

/** Streamed PUT with ?async=1, then the job polled: the phases of one publish. */
async function throughStack(stack: Stack): Promise<Measured> {
  // wrangler dev rebuilds and restarts the Worker whenever a source file changes (other people edit the tree
  // while benches run), failing the request in flight with a 503: measure again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await throughStackOnce(stack);
    } catch (err) {
      if (attempt >= 3 || !/restarted mid-request/.test(String(err))) throw err;
      log("the Worker restarted mid-request (a source file changed): again");
    }
  }
}

async function throughStackOnce(stack: Stack): Promise<Measured> {
  const size = fs.statSync(TARBALL).size;
  const token = await stack.token(USER);
  const cpuBefore = descendantsCpu(processKind);
  const started = process.hrtime.bigint();
  const accepted = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(`${stack.hubUrl}/api/flist/me/upload/tree.tar.gz?async=1`, {
      method: "PUT",
      headers: { authorization: `bearer ${token}`, "content-length": String(size), "content-type": "application/octet-stream" },
    }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    fs.createReadStream(TARBALL, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
  const uploaded = seconds(started);
  if (accepted.status !== 202) throw new Error(`upload answered ${accepted.status}: ${accepted.text}`);
  const id = (JSON.parse(accepted.text) as { payload: { job: string } }).payload.job;

  const marks: Record<string, number> = {};
  let state: JobState;
  for (;;) {
    state = ((await (await fetch(`${stack.hubUrl}/api/jobs/${id}`)).json()) as { payload: JobState }).payload;
    const t = seconds(started);
    if (state.message === "Image ready !" && marks.ready === undefined) marks.ready = t;
    if (state.status === "succeeded" || state.status === "failed") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const total = seconds(started);
  if (state.status !== "succeeded") throw new Error(`job failed: ${state.message}\n${stack.logs().slice(-2000)}`);
  const ready = marks.ready ?? total;
  log(`stack, streamed PUT: ${total.toFixed(2)} s = upload converted as it arrives ${uploaded.toFixed(2)} s` +
    ` + end of the conversion ${Math.max(0, ready - uploaded).toFixed(2)} s + publish ${(total - Math.max(ready, uploaded)).toFixed(2)} s (±0.1 s polling)`);
  return { seconds: total, cpu: cpuDelta(cpuBefore, descendantsCpu(processKind)) };
}

async function main(): Promise<void> {
  prepareTree(log);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-bench-hub-"));
  log(`tarball ${fs.statSync(TARBALL).size} bytes; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cores`);
  let stack: Stack | undefined;
  try {
    const aloneRun = await engineAlone(work);
    const alone = aloneRun.seconds;
    stack = await startStack({ workerVars: LOCAL_WORKER_VARS }); // the hub as `npm start` runs it
    const streamedRun = await throughStack(stack);
    const streamed = streamedRun.seconds;

    // Same again with the command line and an empty store (a restarted Redis is empty).
    await stack.stopStore();
    await stack.startStore();
    const cli = await runZhub(["upload", TARBALL, "--name", "tree-cli"], { ZHUB_HUB: stack.hubUrl, ZHUB_TOKEN: await stack.token(USER), ZHUB_CONFIG: path.join(work, "zhub.json") });
    if (cli.code !== 0) throw new Error(`zhub upload failed: ${cli.stderr}\n${stack.logs().slice(-2000)}`);
    log(`stack, zhub upload (protocol chosen by GET /api/limits, SSE follow): ${cli.seconds.toFixed(2)} s wall`);

    console.log("");
    console.log(`zhub flist create alone          ${alone.toFixed(2)} s`);
    console.log(`through the hub, streamed PUT    ${streamed.toFixed(2)} s   ${(streamed / alone).toFixed(2)}×`);
    console.log(`through the hub, zhub upload     ${cli.seconds.toFixed(2)} s   ${(cli.seconds / alone).toFixed(2)}×`);
    // Both runs are CPU-bound here: the hub's extra processes share the same cores as the engine, so the ratio
    // cannot go below (all CPU seconds through the hub / cores) / the engine's wall time on this machine.
    const cores = os.availableParallelism();
    const hubCpu = streamedRun.cpu.reduce((n, [, v]) => n + v, 0);
    console.log("");
    console.log(`CPU, zhub flist create alone    ${cpuLine(aloneRun)}`);
    console.log(`CPU, through the hub (streamed) ${cpuLine(streamedRun)}`);
    console.log(`on ${cores} cores the hub's CPU alone needs ≥ ${(hubCpu / cores).toFixed(2)} s wall: ratio ≥ ${(hubCpu / cores / alone).toFixed(2)}× on this machine`);
    console.log(`goal < ${GOAL}×: ${Math.min(streamed, cli.seconds) / alone < GOAL ? "met" : "NOT met"}`);
  } finally {
    await stack?.stop();
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

await main();
