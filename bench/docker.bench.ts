/**
 * Docker/OCI image conversion benchmark: time to a published flist **through the hub**.
 *
 *  1. build once (cached in bench/.data/docker, git-ignored) a ~200 MiB, 3-layer image with umoci: two layers of
 *     ~100 MiB each from bench/lib/gen-tree.ts (seeds 1 and 2: half random bytes, half text, ~3000 files),
 *     a third deleting one directory of the first and rewriting a few files;
 *  2. start Debian's docker-registry on loopback and push the image with skopeo (not timed);
 *  3. ours: the local stack (e2e/support/stack.ts: the lean runtime + converter service + an empty redis as the chunk
 *     store), `POST /api/flist/me/docker` with a token, synchronous: the wall time from the request to the answer
 *     is the time to a published flist (job queued, dispatched, image pulled and converted, chunks stored, flist
 *     published). Peak converter RSS = `VmHWM` of the converter process (its worker threads included), read from
 *     /proc after the conversion;
 *  4. the daemon-free baseline a user would script by hand: `skopeo copy docker://… oci:…`, `umoci unpack`,
 *     `zhub flist create <rootfs>` into an empty redis, each timed (wall, peak RSS with /usr/bin/time -v).
 *
 * Goal: ours under 0.6× the baseline's total time, peak converter RSS under 300 MB. Figures are printed;
 * the process exits non-zero only if a step fails or the two flists differ in content.
 *
 * `--engine` also runs the engine alone (`convertImage` + `writeFlist` in a child process, no hub) for comparison.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readFlist, writeFlist } from "../converter/src/flist/index.ts";
import type { DirNode } from "../converter/src/flist/model.ts";
import { convertImage } from "../converter/src/oci/index.ts";
import { openStore } from "../converter/src/store/index.ts";
import { type RunningRedis, startRedis } from "../converter/test/support/redis.ts";
import { OciLayout, startRegistry } from "../converter/test/support/registry.ts";
import { type Stack, startStack } from "../e2e/support/stack.ts";
import { generateTree } from "./lib/gen-tree.ts";
import { parseLogLine } from "../protocol/logging.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const DATA = path.join(ROOT, "bench", ".data", "docker");
const LAYOUT = path.join(DATA, "layout");
const BIN = path.join(ROOT, "converter", "bin", "zhub.js");
const TAG = "bench";
const GOAL = { ratio: 0.6, rssMB: 300 };

function log(message: string): void {
  console.log(`[docker] ${message}`);
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
}

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), stdout. */
function timed(command: string, args: string[]): { seconds: number; rssMB: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-v", command, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}): ${result.stderr.slice(-2000)}`);
  const rssKB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1] ?? NaN);
  for (const line of result.stderr.split("\n")) if (line.startsWith("[docker]")) console.log(line);
  return { seconds, rssMB: (rssKB * 1024) / 1e6, stdout: result.stdout };
}

/** Builds the image once; a layout without the marker (interrupted build) is rebuilt. */
async function prepare(): Promise<void> {
  const marker = path.join(DATA, "layout.complete");
  if (fs.existsSync(marker)) return;
  log("building the ~200 MiB image with umoci (bench/lib/gen-tree.ts seeds 1 and 2)…");
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  run("umoci", ["init", "--layout", LAYOUT]);
  run("umoci", ["new", "--image", `${LAYOUT}:${TAG}`]);
  const layer = (change: (rootfs: string) => void) => {
    const bundle = path.join(DATA, "bundle");
    run("umoci", ["unpack", "--image", `${LAYOUT}:${TAG}`, bundle]);
    change(path.join(bundle, "rootfs"));
    run("umoci", ["repack", "--image", `${LAYOUT}:${TAG}`, bundle]);
    fs.rmSync(bundle, { recursive: true, force: true });
  };
  const gen = (dir: string, seed: number) => void generateTree(dir, { seed, totalMiB: 100 });
  layer((r) => gen(path.join(r, "usr", "share", "data"), 1));
  layer((r) => gen(path.join(r, "opt", "app"), 2));
  layer((r) => {
    const share = path.join(r, "usr", "share", "data");
    const first = fs.readdirSync(share).sort()[0] as string;
    fs.rmSync(path.join(share, first), { recursive: true });
    fs.writeFileSync(path.join(r, "opt", "app", "CHANGED"), "a file of the last layer\n");
  });
  run("umoci", ["config", "--image", `${LAYOUT}:${TAG}`, "--config.cmd", "/bin/sh", "--config.env", "PATH=/usr/bin:/bin"]);
  fs.writeFileSync(marker, "");
}

function distinctKeys(dir: DirNode, into = new Set<string>()): Set<string> {
  for (const child of dir.children) {
    if (child.kind === "dir") distinctKeys(child, into);
    else if (child.kind === "file") for (const block of child.blocks) into.add(Buffer.from(block.hash).toString("hex"));
  }
  return into;
}

function fileCount(dir: DirNode): number {
  let n = 0;
  for (const child of dir.children) n += child.kind === "dir" ? fileCount(child) : child.kind === "file" ? 1 : 0;
  return n;
}

/** Child mode: one conversion, summary as JSON on stdout. */
async function child(reference: string, storeUrl: string, out: string, insecure: string, threads: number | undefined): Promise<void> {
  const started = process.hrtime.bigint();
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of ["rss", "heapUsed", "external", "arrayBuffers"] as const) peak[k] = Math.max(peak[k], m[k]);
  }, 50);
  const store = await openStore(storeUrl);
  try {
    const result = await convertImage(reference, { store, policy: { insecure: [insecure] }, ...(threads ? { threads } : {}) });
    const written = await writeFlist(result.tree, out);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.error(`[docker] child peaks (MB): ${Object.entries(peak).map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)}`).join(", ")}`);
    console.log(JSON.stringify({ seconds, md5: written.md5, stats: result.stats }));
  } finally {
    clearInterval(sampler);
    await store.close();
  }
}

/** Peak and current resident memory of a process (MB), from /proc: VmHWM is the high-water mark since it started. */
function memoryOf(pid: number): { peakMB: number; nowMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { peakMB: (kb("VmHWM") * 1024) / 1e6, nowMB: (kb("VmRSS") * 1024) / 1e6 };
}

interface HubRun {
  seconds: number;
  name: string;
  files: Record<string, number>;
  rss: { beforeMB: number; peakMB: number };
  flist: string;
}

/** One synchronous `POST /api/flist/me/docker` on the stack, timed from the request to the published answer. */
async function throughHub(stack: Stack, reference: string, work: string): Promise<HubRun> {
  const pid = stack.converterPid();
  const before = memoryOf(pid);
  const headers = { ...(await stack.auth("bench")), "content-type": "application/json" };
  const started = process.hrtime.bigint();
  const res = await fetch(`${stack.hubUrl}/api/flist/me/docker`, { method: "POST", headers, body: JSON.stringify({ image: reference }) });
  const body = (await res.json()) as { status: string; message?: string; payload?: { name: string; files: Record<string, number> } };
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (res.status !== 200 || !body.payload) throw new Error(`POST /api/flist/me/docker answered ${res.status}: ${JSON.stringify(body)}\n${stack.logs().slice(-3000)}`);
  const peak = memoryOf(pid);
  // Where the time went inside the converter (its own log lines for the job).
  for (const text of stack.logs().split("\n")) {
    const line = text.includes("{") ? parseLogLine(text.slice(text.indexOf("{"))) : undefined;
    if (line?.kind === "docker" && /^(converted|succeeded)/.test(line.msg)) log(`converter: ${line.msg}`);
  }
  const flist = path.join(work, "hub.flist");
  const download = await fetch(`${stack.hubUrl}/bench/${body.payload.name}`);
  if (download.status !== 200) throw new Error(`download of the published flist answered ${download.status}`);
  fs.writeFileSync(flist, Buffer.from(await download.arrayBuffer()));
  return { seconds, name: body.payload.name, files: body.payload.files, rss: { beforeMB: before.nowMB, peakMB: peak.peakMB }, flist };
}

async function main(): Promise<void> {
  await prepare();
  const registry = await startRegistry();
  const work = fs.mkdtempSync(path.join(DATA, "run-"));
  const redises: RunningRedis[] = [];
  let stack: Stack | undefined;
  try {
    const reference = `${registry.host}/bench/image:v1`;
    log(`pushing to ${registry.host} (not timed)…`);
    await OciLayout.existing(LAYOUT, work).push(TAG, reference);

    // Ours, through the hub: a fresh stack, so its redis is empty and every chunk is written.
    log("starting the local stack (wrangler dev, converter, redis)…");
    stack = await startStack({ converterEnv: { HUB_INSECURE_REGISTRIES: registry.host } });
    log("converting through the hub…");
    const hub = await throughHub(stack, reference, work);
    await stack.stop();
    stack = undefined;

    // Each baseline run gets an empty redis too (the hub's store speaks the same protocol: 0-db).
    const freshStore = async () => {
      const redis = await startRedis();
      redises.push(redis);
      return redis.url;
    };

    // Optional: the engine alone, in a child process (no Worker, no job, no publish).
    type Summary = { seconds: number; md5: string; stats: { layerBytes: number; expandedBytes: number; pipeline?: { written: number; chunks: number } } };
    let engine: { seconds: number; rssMB: number; summary: Summary } | undefined;
    if (process.argv.includes("--engine")) {
      const out = path.join(work, "engine.flist");
      const measure = timed(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "docker.bench.ts"), "--child", reference, await freshStore(), out, registry.host, "2"]);
      engine = { ...measure, summary: JSON.parse(measure.stdout.trim().split("\n").at(-1) as string) as Summary };
    }

    // Baseline: skopeo copy + umoci unpack + zhub flist create.
    log("baseline: skopeo copy, umoci unpack, zhub flist create…");
    const copy = timed("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${reference}`, `oci:${path.join(work, "pulled")}:${TAG}`]);
    const unpack = timed("umoci", ["unpack", "--image", `${path.join(work, "pulled")}:${TAG}`, path.join(work, "bundle")]);
    const baseOut = path.join(work, "baseline.flist");
    const create = timed(process.execPath, [BIN, "flist", "create", "--json", "--store", await freshStore(), path.join(work, "bundle", "rootfs"), baseOut]);
    const baseline = copy.seconds + unpack.seconds + create.seconds;

    const [a, b] = await Promise.all([readFlist(hub.flist), readFlist(baseOut)]);
    const same = distinctKeys(a.root).size === distinctKeys(b.root).size && fileCount(a.root) === fileCount(b.root);

    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const layerBytes = fs.statSync(path.join(LAYOUT, "blobs", "sha256")).isDirectory()
      ? fs.readdirSync(path.join(LAYOUT, "blobs", "sha256")).reduce((sum, f) => sum + fs.statSync(path.join(LAYOUT, "blobs", "sha256", f)).size, 0)
      : 0;
    console.log("");
    console.log(`image: ${hub.files.regular} files, ${mb(hub.files.fullsize ?? 0)} of file data (layout blobs ${mb(layerBytes)})`);
    console.log(`ours: POST /api/flist/me/docker → published  ${hub.seconds.toFixed(2).padStart(7)} s  peak converter RSS ${hub.rss.peakMB.toFixed(0)} MB (idle before: ${hub.rss.beforeMB.toFixed(0)} MB)`);
    if (engine) {
      console.log(`engine alone (convertImage + writeFlist)      ${engine.seconds.toFixed(2).padStart(7)} s  peak RSS ${engine.rssMB.toFixed(0)} MB  chunks ${engine.summary.stats.pipeline?.chunks}`);
    }
    console.log(`baseline: skopeo copy                         ${copy.seconds.toFixed(2).padStart(7)} s  peak RSS ${copy.rssMB.toFixed(0)} MB`);
    console.log(`          umoci unpack                        ${unpack.seconds.toFixed(2).padStart(7)} s  peak RSS ${unpack.rssMB.toFixed(0)} MB`);
    console.log(`          zhub flist create                   ${create.seconds.toFixed(2).padStart(7)} s  peak RSS ${create.rssMB.toFixed(0)} MB`);
    console.log(`          total                               ${baseline.toFixed(2).padStart(7)} s`);
    const ratio = hub.seconds / baseline;
    console.log("");
    console.log(
      `through the hub / baseline = ${ratio.toFixed(2)} (goal < ${GOAL.ratio}): ${ratio < GOAL.ratio ? "goal met" : "goal NOT met"}; ` +
        `peak converter RSS ${hub.rss.peakMB.toFixed(0)} MB ${hub.rss.peakMB < GOAL.rssMB ? "under" : "OVER"} ${GOAL.rssMB} MB`,
    );
    console.log(`same files and chunk keys as the baseline flist: ${same ? "yes" : "NO"}`);
    if (!same) process.exitCode = 1;
  } finally {
    await stack?.stop();
    await Promise.all(redises.map((r) => r.stop()));
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [reference, storeUrl, out, insecure, threads] = process.argv.slice(3) as [string, string, string, string, string];
  await child(reference, storeUrl, out, insecure, Number(threads) || undefined);
} else {
  await main();
}
