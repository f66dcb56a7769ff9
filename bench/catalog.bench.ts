/**
 * Catalog benchmark, against a real `wrangler dev` started with `scripts/start.ts` on its own port
 * and its own state directory (`bench/.data/catalog/`, git-ignored):
 *
 *  1. publish a few flist-shaped blobs (2 MB, 5 MB and a fixture) through `PUT /internal/publish`;
 *  2. add repository r000 with 1,000 entries (bulk SQL into the local D1; entries share the fixture's blob,
 *     one in ten is a symlink) and measure `GET /api/flist/r000`;
 *  3. add r001…r099 × 1,000 entries (100,000 in the catalog) and measure the same listing again — the ratio
 *     shows whether a per-repository request scans the catalog — then `/light`, `.flist.md5` and the download
 *     of the 2 MB flist.
 *
 * Each measurement: 32 keep-alive connections for 10 s (BENCH_SECONDS, BENCH_CONNECTIONS override). Figures
 * are printed, nothing is asserted. The Worker never parses flists, so the large blobs are gzip'd tars of
 * incompressible bytes with the shape of a flist.
 */
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { readDevVars } from "../scripts/lib/devvars.ts";
import { formatResults, load, type LoadResult } from "./lib/load.ts";
import { printRequestCost } from "./lib/request-cost.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const DATA = path.join(ROOT, "bench", ".data", "catalog");
const STATE = path.join(DATA, "state");
const FIXTURES = path.resolve(ROOT, "..", "shared", "fixtures", "flists");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const PORT = Number(process.env.HUB_BENCH_PORT ?? 8790);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REPOSITORIES = 100;
const ENTRIES_PER_REPOSITORY = 1000;

interface Hub {
  url: string;
  stop(): Promise<void>;
}

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

/** `scripts/start.ts` on the bench port and state; resolves once it printed its URL and token. */
function startHub(): Promise<Hub> {
  const logFile = fs.openSync(path.join(DATA, "hub.log"), "a");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "start.ts")], {
    cwd: ROOT,
    // HUB_REQUEST_COST: answers carry their D1/R2/cache counts, read by the per-request cost table at the end.
    env: { ...process.env, HUB_PORT: String(PORT), HUB_PERSIST_DIR: STATE, HUB_REQUEST_COST: "true" },
    stdio: ["ignore", "pipe", logFile],
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    child.on("exit", (code) => reject(new Error(`hub exited early (${code}); see ${path.join(DATA, "hub.log")}`)));
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (/^http:\/\/\S+$/.test(line)) url = line;
      else if (url && /^[A-Za-z0-9_-]+={0,2}$/.test(line) && line.length > 80) {
        resolve({
          url,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
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

/** A gzip'd tar holding `flistdb.sqlite3` of `size` random bytes. */
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
  out.push(
    `INSERT OR IGNORE INTO repositories (name, created, updated) VALUES ${repos.map((r) => `(${sql(r)}, ${now}, ${now})`).join(", ")};`,
  );
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

function seed(repos: string[], blob: string, file: string): void {
  const target = path.join(DATA, file);
  fs.writeFileSync(target, seedSql(repos, blob, Math.floor(Date.now() / 1000)));
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", STATE, "--yes", "--file", target]);
}

async function check(url: string, validate: (res: Response, body: Buffer) => string | null): Promise<void> {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  const problem = res.status !== 200 ? `status ${res.status}` : validate(res, body);
  if (problem) throw new Error(`${url}: ${problem}`);
}

async function measure(label: string, url: string): Promise<LoadResult> {
  await load(label, url, { connections: CONNECTIONS, seconds: Math.min(2, SECONDS) }); // warm-up, discarded
  const result = await load(label, url, { connections: CONNECTIONS, seconds: SECONDS });
  log(`${label}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.errors} errors`);
  return result;
}

async function main(): Promise<void> {
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  log(`state in ${path.relative(ROOT, DATA)}, hub on 127.0.0.1:${PORT}, ${CONNECTIONS} connections × ${SECONDS} s per route`);

  // 1. blobs through the real publish route.
  let hub = await startHub();
  const secret = readDevVars().INTERNAL_SECRET;
  if (!secret) throw new Error(".dev.vars has no INTERNAL_SECRET (scripts/start.ts writes it)");
  const small = await publish(hub, secret, "r000", "small", fs.readFileSync(path.join(FIXTURES, "main.flist")));
  const big2 = flistShaped(2 * 1024 * 1024);
  await publish(hub, secret, "r000", "big2", big2);
  await publish(hub, secret, "r000", "big5", flistShaped(5 * 1024 * 1024));
  await publish(hub, secret, "r000", "big3", flistShaped(3 * 1024 * 1024));
  await hub.stop();
  log("published small (fixture), big2 (2 MB), big3 (3 MB), big5 (5 MB) into r000");

  // 2. one repository of 1,000 entries.
  seed(["r000"], small, "seed-1.sql");
  hub = await startHub();
  await check(`${hub.url}/api/flist/r000`, (_r, b) =>
    (JSON.parse(b.toString()) as unknown[]).length >= ENTRIES_PER_REPOSITORY ? null : "listing too short",
  );
  const listSmall = await measure("/api/flist/r000 (1,000 entries in catalog)", `${hub.url}/api/flist/r000`);
  await hub.stop();

  // 3. 100 repositories × 1,000 entries.
  const others = Array.from({ length: REPOSITORIES - 1 }, (_, i) => `r${String(i + 1).padStart(3, "0")}`);
  const started = Date.now();
  seed(others, small, "seed-100.sql");
  log(`seeded ${others.length} more repositories × ${ENTRIES_PER_REPOSITORY} entries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  hub = await startHub();
  try {
    const repos = (await (await fetch(`${hub.url}/api/repositories`)).json()) as unknown[];
    log(`catalog: ${repos.length} repositories, ~${repos.length * ENTRIES_PER_REPOSITORY} entries`);
    const md5 = crypto.createHash("md5").update(big2).digest("hex");
    await check(`${hub.url}/r000/big2.flist.md5`, (_r, b) => (b.toString() === `${md5}\n` ? null : "md5 mismatch"));
    await check(`${hub.url}/r000/big2.flist`, (_r, b) => (b.equals(big2) ? null : "download differs from the published bytes"));

    const results = [listSmall];
    results.push(await measure("/api/flist/r000 (100,000 entries in catalog)", `${hub.url}/api/flist/r000`));
    results.push(await measure("/api/flist/r000/big2.flist/light", `${hub.url}/api/flist/r000/big2.flist/light`));
    results.push(await measure("/r000/big2.flist.md5", `${hub.url}/r000/big2.flist.md5`));
    results.push(await measure("/r000/big2.flist (2 MB download)", `${hub.url}/r000/big2.flist`));

    console.log("");
    console.log(formatResults(results));
    const listLarge = results[1]!;
    console.log("");
    console.log(
      `listing one repository, 100,000 vs 1,000 entries in the catalog: p50 ×${(listLarge.p50 / listSmall.p50).toFixed(2)}, ` +
        `p99 ×${(listLarge.p99 / listSmall.p99).toFixed(2)}, req/s ×${(listLarge.rps / listSmall.rps).toFixed(2)} ` +
        `(≈1 means the request does not scan the catalog)`,
    );
    console.log("");
    await printRequestCost(hub.url, [
      "/api/flist/r000",
      "/api/flist/r000/big2.flist/light",
      "/r000/big2.flist.md5",
      "/r000/big2.flist",
      "/api/repositories",
      "/api/flist",
    ]);
  } finally {
    await hub.stop();
  }
}

await main();
