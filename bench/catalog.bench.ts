/**
 * Catalog load benchmark (`npm run bench -- catalog`), against `npm start` (scripts/start.ts: the lean runtime,
 * scripts/lib/runtime.ts) on its own port and state (`bench/.data/catalog/`, git-ignored):
 *
 *  1. publish the fixture flist and a 2 MB flist-shaped blob into r000 through `PUT /internal/publish`;
 *  2. seed 20 repositories × 200 entries (bulk SQL into the local D1; entries share the fixture's blob, one in ten
 *     is a symlink), then start again, timing the cold start: from spawning `npm start` to the first answer;
 *  3. each route of the original's table under wrk, 32 connections for 10 s (BENCH_SECONDS, BENCH_CONNECTIONS):
 *     req/s, p50, p99, errors, beside the original Flask hub's req/s on this machine, the ratio and the goal
 *     (≥ 2× the original's req/s, p99 < 100 ms, no error); and the CPU per request of the front (node) and workerd;
 *  4. the Worker's start-up: bundle size, and the CPU workerd spends loading it (its top-level work) beyond an
 *     empty Worker's.
 *
 * BENCH_CPU_PROF=1 runs npm start under `node --cpu-prof` (profiles in bench/.data/catalog/prof, written at exit).
 * Then the per-request cost of each route from inside the Worker (bench/lib/request-cost.ts: D1 queries and rows
 * read, R2 operations, edge cache hits, read from the Server-Timing header of HUB_REQUEST_COST=true), cold and warm.
 * Figures are printed, nothing is asserted.
 */
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { Miniflare } from "miniflare";
import { readDevVars } from "../scripts/lib/devvars.ts";
import { bundleWorker } from "../scripts/lib/worker-bundle.ts";
import { readWorkerConfig } from "../scripts/lib/worker-config.ts";
import { descendantsCpu } from "./lib/cpu.ts";
import { formatTable, load, type LoadResult } from "./lib/load.ts";
import { printRequestCost } from "./lib/request-cost.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const DATA = path.join(ROOT, "bench", ".data", "catalog");
const STATE = path.join(DATA, "state");
const FIXTURES = path.resolve(ROOT, "..", "shared", "fixtures", "flists");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const PORT = Number(process.env.HUB_BENCH_PORT ?? 8790);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CPU_PROF = process.env.BENCH_CPU_PROF === "1";
const REPOSITORIES = 20;
const ENTRIES_PER_REPOSITORY = 200;

/**
 * The original Flask hub (threefoldtech/0-hub) on this machine, 32 connections, the same catalog: measured once,
 * noisy; req/s.
 */
const ORIGINAL: Record<string, number> = {
  "/api/flist/<repo>": 100,
  "/api/flist/<repo>/<name>/light": 430,
  "/<repo>/<name>.flist.md5": 480,
  "/<repo>/<name>.flist": 65,
  "/api/repositories": 410,
};

interface Hub {
  url: string;
  pid: number;
  /** ms from spawning npm start to the first answered request. */
  coldStartMs: number;
  stop(): Promise<void>;
}

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

/** `scripts/start.ts` on the bench port and state; resolves once a request is answered and the token printed. */
function startHub(): Promise<Hub> {
  const logFile = fs.openSync(path.join(DATA, "hub.log"), "a");
  const prof = CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", path.join(DATA, "prof")] : [];
  const started = performance.now();
  const child = spawn(process.execPath, [...prof, "--import", "tsx", path.join(ROOT, "scripts", "start.ts")], {
    cwd: ROOT,
    // HUB_REQUEST_COST: answers carry their D1/R2/cache counts, read by the per-request cost table at the end.
    env: { ...process.env, HUB_PORT: String(PORT), CONVERTER_PORT: String(PORT + 1), HUB_BACKEND: `127.0.0.1:${PORT + 2}`, HUB_PERSIST_DIR: STATE, HUB_REQUEST_COST: "true" },
    stdio: ["ignore", "pipe", logFile],
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = `http://127.0.0.1:${PORT}`;
  let coldStartMs = 0;
  // The first answer (the front answers only once the Worker is up).
  const answered = (async () => {
    for (;;) {
      try {
        const res = await fetch(`${url}/api/repositories`);
        await res.arrayBuffer();
        if (res.ok) return (coldStartMs = performance.now() - started);
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`hub exited early (${code}); see ${path.join(DATA, "hub.log")}`)));
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (/^[A-Za-z0-9_-]+={0,2}$/.test(line) && line.length > 80) {
        void answered.then(() =>
          resolve({
            url,
            pid: child.pid!,
            coldStartMs,
            stop: async () => {
              child.kill("SIGTERM");
              await exited;
            },
          }),
        );
      }
    });
  });
}

function wrangler(args: string[]): void {
  const res = spawnSync(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed: ${res.stderr?.toString().slice(-2000)}`);
}

/** A gzip'd tar holding `flistdb.sqlite3` of `size` random bytes (the Worker never parses flists). */
function flistShaped(size: number): Buffer {
  const dir = fs.mkdtempSync(path.join(DATA, "blob-"));
  fs.writeFileSync(path.join(dir, "flistdb.sqlite3"), crypto.randomBytes(size));
  const out = path.join(dir, "out.flist");
  const tar = spawnSync("tar", ["-czf", out, "-C", dir, "flistdb.sqlite3"]);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  const bytes = fs.readFileSync(out);
  fs.rmSync(dir, { recursive: true, force: true });
  return bytes;
}

function fixtureFind(): unknown {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, "main.flist.expected", "find.json"), "utf8")).response;
}

async function publish(hub: Hub, secret: string, repo: string, name: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append("flist", new Blob([new Uint8Array(bytes)]), `${name}.flist`);
  form.append("info", JSON.stringify({ contents: fixtureFind(), metadata: {} }));
  const res = await fetch(`${hub.url}/internal/publish/${repo}/${name}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${secret}` },
    body: form,
  });
  const body = (await res.json()) as { payload?: { sha256: string } };
  if (res.status !== 200 || !body.payload) throw new Error(`publish ${repo}/${name}: ${res.status} ${JSON.stringify(body)}`);
  return body.payload.sha256;
}

const sql = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Bulk rows for `repos` × ENTRIES_PER_REPOSITORY entries, in statements small enough for D1. */
function seedSql(repos: string[], blob: string, now: number): string {
  const out: string[] = [];
  out.push(`INSERT OR IGNORE INTO repositories (name, created, updated) VALUES ${repos.map((r) => `(${sql(r)}, ${now}, ${now})`).join(", ")};`);
  for (const repo of repos) {
    const rows: string[] = [];
    for (let i = 0; i < ENTRIES_PER_REPOSITORY; i++) {
      const name = `e${String(i).padStart(6, "0")}.flist`;
      if (i % 10 === 9) {
        const target = `e${String(i - 1).padStart(6, "0")}.flist`;
        rows.push(`(${sql(repo)}, ${sql(name)}, 'symlink', NULL, ${sql(repo)}, ${sql(target)}, ${sql(target)}, ${now}, ${now}, ${now})`);
      } else {
        rows.push(`(${sql(repo)}, ${sql(name)}, 'regular', ${sql(blob)}, NULL, NULL, NULL, ${now}, ${now}, NULL)`);
      }
    }
    for (let i = 0; i < rows.length; i += 200) {
      out.push(
        `INSERT INTO entries (repository, name, kind, blob, target_repository, target_name, target_raw, created, updated, linktime) VALUES ${rows
          .slice(i, i + 200)
          .join(", ")};`,
      );
    }
  }
  return out.join("\n") + "\n";
}

async function check(url: string, validate: (body: Buffer) => string | null): Promise<void> {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  const problem = res.status !== 200 ? `status ${res.status}` : validate(body);
  if (problem) throw new Error(`${url}: ${problem}`);
}

/** The hub's processes: the npm start process (front, Miniflare) and its workerd; the rest (converter) apart. */
function hubCpu(): { node: number; workerd: number } {
  const sums = descendantsCpu((command) => (command.includes("workerd") ? "workerd" : command.includes("scripts/start.ts") ? "node" : "other"));
  return { node: sums.get("node") ?? 0, workerd: sums.get("workerd") ?? 0 };
}

interface Measured {
  route: string;
  result: LoadResult;
  cpuNodeMs: number;
  cpuWorkerdMs: number;
}

async function measure(hub: Hub, route: string, url: string): Promise<Measured> {
  await load(route, url, { connections: CONNECTIONS, seconds: Math.min(2, SECONDS) }); // warm-up, discarded
  const before = hubCpu();
  const result = await load(route, url, { connections: CONNECTIONS, seconds: SECONDS });
  const after = hubCpu();
  const n = Math.max(1, result.requests + result.errors);
  const m = { route, result, cpuNodeMs: ((after.node - before.node) * 1000) / n, cpuWorkerdMs: ((after.workerd - before.workerd) * 1000) / n };
  log(`${route}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.errors} errors`);
  return m;
}

/** workerd's CPU to start and answer one request, for the Worker's bundle and for an empty Worker: the difference is the bundle's load and top-level work. */
async function startupCpu(): Promise<{ bytes: number; bundleMs: number; workerMs: number; emptyMs: number }> {
  const dir = fs.mkdtempSync(path.join(DATA, "startup-"));
  const started = performance.now();
  const bundle = await bundleWorker(path.join(dir, "bundle"), () => undefined);
  const bundleMs = performance.now() - started;
  const config = await readWorkerConfig(path.join(ROOT, "wrangler.toml"));
  const cpuOf = async (worker: ConstructorParameters<typeof Miniflare>[0]) => {
    const before = descendantsCpu((c) => (c.includes("workerd") ? "workerd" : "other")).get("workerd") ?? 0;
    const mf = new Miniflare(worker);
    try {
      const res = await mf.dispatchFetch("http://localhost/api/nothing-here");
      await res.arrayBuffer();
      return ((descendantsCpu((c) => (c.includes("workerd") ? "workerd" : "other")).get("workerd") ?? 0) - before) * 1000;
    } finally {
      await mf.dispose();
    }
  };
  try {
    const base = { compatibilityDate: config.workerOptions.compatibilityDate, compatibilityFlags: config.workerOptions.compatibilityFlags };
    const emptyMs = await cpuOf({ ...base, modules: true, script: "export default { fetch() { return new Response('') } }" });
    const workerMs = await cpuOf({
      ...config.workerOptions,
      name: config.name,
      modulesRoot: path.dirname(bundle.main),
      modules: bundle.modules,
      // Its one request line would land in the middle of the figures.
      bindings: { ...config.workerOptions.bindings, HUB_LOG_LEVEL: "warn" },
      defaultPersistRoot: path.join(dir, "state"),
      cf: false,
    } as ConstructorParameters<typeof Miniflare>[0]);
    return { bytes: bundle.bytes, bundleMs, workerMs, emptyMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  log(`state in ${path.relative(ROOT, DATA)}, hub on 127.0.0.1:${PORT}, ${CONNECTIONS} connections × ${SECONDS} s per route (wrk)`);

  // 1. blobs through the real publish route.
  let hub = await startHub();
  const secret = readDevVars().INTERNAL_SECRET;
  if (!secret) throw new Error(".dev.vars has no INTERNAL_SECRET (scripts/start.ts writes it)");
  const small = await publish(hub, secret, "r000", "small", fs.readFileSync(path.join(FIXTURES, "main.flist")));
  const big2 = flistShaped(2 * 1024 * 1024);
  await publish(hub, secret, "r000", "big2", big2);
  await hub.stop();
  log("published small (fixture) and big2 (2 MB) into r000");

  // 2. 20 repositories × 200 entries, then the cold start.
  const repos = Array.from({ length: REPOSITORIES }, (_, i) => `r${String(i).padStart(3, "0")}`);
  fs.writeFileSync(path.join(DATA, "seed.sql"), seedSql(repos, small, Math.floor(Date.now() / 1000)));
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", STATE, "--yes", "--file", path.join(DATA, "seed.sql")]);
  hub = await startHub();
  try {
    log(`cold start: ${(hub.coldStartMs / 1000).toFixed(1)} s from spawning npm start to the first answered request`);
    const md5 = crypto.createHash("md5").update(big2).digest("hex");
    await check(`${hub.url}/api/flist/r001`, (b) => ((JSON.parse(b.toString()) as unknown[]).length === ENTRIES_PER_REPOSITORY ? null : "listing is not 200 entries"));
    await check(`${hub.url}/r000/big2.flist.md5`, (b) => (b.toString() === `${md5}\n` ? null : "md5 mismatch"));
    await check(`${hub.url}/r000/big2.flist`, (b) => (b.equals(big2) ? null : "download differs from the published bytes"));

    const routes: [string, string][] = [
      ["/api/flist/<repo>", `${hub.url}/api/flist/r001`],
      ["/api/flist/<repo>/<name>/light", `${hub.url}/api/flist/r000/big2.flist/light`],
      ["/<repo>/<name>.flist.md5", `${hub.url}/r000/big2.flist.md5`],
      ["/<repo>/<name>.flist", `${hub.url}/r000/big2.flist`],
      ["/api/repositories", `${hub.url}/api/repositories`],
    ];
    const measured: Measured[] = [];
    for (const [route, url] of routes) {
      measured.push(await measure(hub, route, url));
    }

    const rows = [["route", "req/s", "p50 ms", "p99 ms", "errors", "original req/s", "ratio", "goal", "CPU/req node ms", "workerd ms"]];
    for (const m of measured) {
      const original = ORIGINAL[m.route]!;
      const ratio = m.result.rps / original;
      const goal = ratio >= 2 && m.result.p99 < 100 && m.result.errors === 0;
      rows.push([
        m.route,
        m.result.rps.toFixed(0),
        m.result.p50.toFixed(1),
        m.result.p99.toFixed(1),
        String(m.result.errors),
        String(original),
        `×${ratio.toFixed(2)}`,
        goal ? "holds" : "misses",
        m.cpuNodeMs.toFixed(2),
        m.cpuWorkerdMs.toFixed(2),
      ]);
    }
    console.log("");
    console.log(formatTable(rows));
    console.log("(original: the Flask hub on this machine, same catalog and connections, measured once; all figures are noisy)");
    console.log("(goal: ≥ 2× the original's req/s, p99 < 100 ms, 0 errors)");
    console.log("");
    await printRequestCost(hub.url, routes.map(([, url]) => new URL(url).pathname).concat(["/api/flist"]));
  } finally {
    await hub.stop();
  }

  // 4. the Worker's start-up.
  const s = await startupCpu();
  console.log("");
  console.log(
    `cold start ${(hub.coldStartMs / 1000).toFixed(1)} s (npm start to first answer, the bundle from its cache; bundling anew takes ${(s.bundleMs / 1000).toFixed(1)} s); ` +
      `Worker bundle ${(s.bytes / 1e6).toFixed(2)} MB; workerd CPU to load it and answer once ${s.workerMs.toFixed(0)} ms ` +
      `(an empty Worker: ${s.emptyMs.toFixed(0)} ms; the bundle's load and top-level work ≈ ${(s.workerMs - s.emptyMs).toFixed(0)} ms)`,
  );
  if (CPU_PROF) log(`CPU profiles of npm start in ${path.relative(ROOT, path.join(DATA, "prof"))}`);
}

await main();
