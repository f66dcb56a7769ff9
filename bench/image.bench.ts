/**
 * The converter's production image (docs/converter-image.md): `npm run bench -- image`.
 *
 *  1. builds converter/Dockerfile with buildah (scripts/lib/image/; the Node 20 base from Debian packages is made
 *     first when buildah's storage lacks it): build time, cached or not;
 *  2. sizes: the image as stored (uncompressed layers, what `docker images` shows), the base's share, and the
 *     gzip'd OCI archive `buildah push` writes (about what a registry stores and a host downloads);
 *  3. start time of the converter, `START_RUNS` (3) times each, median: from spawning the command to its
 *     "converter listening" line and to the first 200 of `GET /health`, with its idle RSS then, for
 *     - the image: `buildah run` of the image's CMD (`node main.mjs`, compiled JavaScript),
 *     - the same bundle on this machine: `node <bundle>/main.mjs`,
 *     - `npm run converter` on this machine (TypeScript through tsx).
 * The converter needs nothing else to start (the hub and the chunk store are only reached by jobs).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleConverter } from "../scripts/lib/converter-bundle.ts";
import { buildah, imageFacts, megabytes } from "../scripts/lib/image/buildah.ts";
import { buildConverterImage, openConverterImage } from "../scripts/lib/image/converter-image.ts";
import { type Child, freePort, startChild } from "../scripts/lib/processes.ts";

const START_RUNS = Number(process.env.START_RUNS ?? 3);

function log(message: string): void {
  console.log(`[image] ${message}`);
}

/** The pids below `pid` (from /proc): the converter runs a few processes down under npm or buildah. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * VmRSS (MB) of the service's node process: the largest of those whose command line names the service's entry
 * (under npm, tsx's CLI is a node process naming main.ts too, with the service as its child).
 */
function serviceRss(child: Child): number {
  let rss = NaN;
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmdline.some((a) => /main\.(mjs|ts)$/.test(a)) || !/node$/.test(cmdline[0] ?? "")) continue;
      const mb = (Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024) / 1e6;
      if (Number.isNaN(rss) || mb > rss) rss = mb;
    } catch {
      // gone or not readable: next
    }
  }
  return rss;
}

interface Start {
  listening: number;
  health: number;
  rssMB: number;
}

async function measureStart(launch: (env: Record<string, string>) => { command: string; args: string[]; env: NodeJS.ProcessEnv }): Promise<Start> {
  const port = await freePort();
  const env = {
    HUB_URL: "http://127.0.0.1:9",
    HUB_CHUNK_STORE: `file://${path.join(os.tmpdir(), `zhub-image-bench-${crypto.randomBytes(4).toString("hex")}`)}`,
    HUB_BACKEND: "127.0.0.1:9900",
    INTERNAL_SECRET: crypto.randomBytes(24).toString("base64url"),
    CONVERTER_HOST: "127.0.0.1",
    CONVERTER_PORT: String(port),
  };
  const { command, args, env: processEnv } = launch(env);
  const started = performance.now();
  let listening = NaN;
  const child = startChild(command, args, {
    env: processEnv,
    group: true,
    onLine: (line) => {
      if (Number.isNaN(listening) && line.includes("converter listening")) listening = performance.now() - started;
    },
  });
  try {
    for (;;) {
      if (!child.running()) throw new Error(`${command} exited before answering /health`);
      if (performance.now() - started > 60_000) throw new Error(`${command}: no /health answer after 60 s`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const health = performance.now() - started;
    return { listening, health, rssMB: serviceRss(child) };
  } finally {
    await child.stop("SIGTERM", 5000);
    fs.rmSync(new URL(env.HUB_CHUNK_STORE).pathname, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

log("building converter/Dockerfile (minutes when nothing is cached yet; BENCH_VERBOSE=1 shows buildah's output)");
const built = await buildConverterImage({ log: process.env.BENCH_VERBOSE === "1" ? log : undefined });
const base = await imageFacts(built.base);
log(`built ${built.image} in ${built.seconds.toFixed(0)} s${built.baseBuilt ? " (Node base made from Debian packages first)" : " (base and unchanged layers cached)"}`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-image-bench-"));
try {
  const archive = path.join(work, "converter.oci.tar");
  await buildah(["push", "--quiet", built.image, `oci-archive:${archive}`]);
  const compressed = fs.statSync(archive).size;
  fs.rmSync(archive);
  log(`image size ${megabytes(built.bytes)} (${built.layers} layers): base ${megabytes(base.bytes)}, converter layers ${megabytes(built.bytes - base.bytes)}; gzip'd OCI archive ${megabytes(compressed)}`);

  const bundle = await bundleConverter({ outDir: path.join(work, "bundle"), modules: true });
  const image = await openConverterImage(built.image);
  const kinds: [string, (env: Record<string, string>) => { command: string; args: string[]; env: NodeJS.ProcessEnv }][] = [
    ["image (buildah run, node main.mjs)", (env) => {
      const [command, args] = image.command(env);
      return { command, args, env: process.env };
    }],
    ["host: node <bundle>/main.mjs", (env) => ({ command: process.execPath, args: [bundle.main], env: { ...process.env, ...env } })],
    ["host: npm run converter (tsx)", (env) => ({ command: "npm", args: ["run", "-s", "converter"], env: { ...process.env, ...env } })],
  ];
  const rows: string[] = [];
  try {
    for (const [name, launch] of kinds) {
      const runs: Start[] = [];
      for (let i = 0; i < START_RUNS; i++) runs.push(await measureStart(launch));
      const row = `${name.padEnd(38)} ${(median(runs.map((r) => r.listening)) / 1000).toFixed(2).padStart(8)} s ${(median(runs.map((r) => r.health)) / 1000).toFixed(2).padStart(8)} s ${median(runs.map((r) => r.rssMB)).toFixed(0).padStart(6)} MB`;
      rows.push(row);
    }
  } finally {
    await image.remove();
  }
  console.log(`\nconverter start, median of ${START_RUNS} (spawn → "listening" line, → first /health 200; idle RSS of the service)`);
  console.log(`${"how".padEnd(38)} ${"listening".padStart(10)} ${"/health".padStart(10)} ${"RSS".padStart(9)}`);
  for (const row of rows) console.log(row);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
