/**
 * The Worker bundled once, as `wrangler deploy` would upload it (`wrangler deploy --dry-run --outdir`: wrangler.toml's
 * `[build]` command first, then wrangler's bundler with its nodejs_compat handling; no account needed). The lean
 * runtime (scripts/lib/runtime.ts) runs this bundle: edits to the sources during a run do not restart the Worker
 * (`npm run dev` is the live-reloading way).
 *
 * `cachedBundle()` keeps bundles by the hash of what goes into them (the Worker's and the protocol's sources,
 * wrangler.toml, the site script's build, the lockfile) in the temporary directory, so the e2e suite, which starts
 * a stack per file, and a restart of `npm start` bundle only after a change.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./devvars.ts";
import { WRANGLER, wranglerEnv } from "./processes.ts";

export interface WorkerBundle {
  /** The entry module, absolute. */
  main: string;
  /** Its modules, as Miniflare takes them (the entry first). */
  modules: { type: ModuleType; path: string; contents: Uint8Array }[];
  /** Size in bytes of the modules. */
  bytes: number;
}

type ModuleType = "ESModule" | "CompiledWasm" | "Text" | "Data";

/** Module type of a file wrangler wrote next to the entry; undefined for what the runtime does not load (maps, README). */
function moduleType(file: string): ModuleType | undefined {
  if (/\.m?js$/.test(file)) return "ESModule";
  if (file.endsWith(".wasm")) return "CompiledWasm";
  if (/\.(txt|html|sql)$/.test(file)) return "Text";
  if (file.endsWith(".bin")) return "Data";
  return undefined;
}

/** Bundles the Worker of `configPath` into `outdir`. `onLine`: wrangler's output (shown if the build fails). */
export async function bundleWorker(outdir: string, onLine: (line: string) => void, configPath = path.join(ROOT, "wrangler.toml")): Promise<WorkerBundle> {
  const build = spawn(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir, "--config", configPath], {
    cwd: ROOT,
    env: wranglerEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  for (const stream of [build.stdout, build.stderr]) {
    stream.on("data", (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      for (const line of d.toString().split("\n")) if (line.trim()) onLine(line);
    });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    build.once("error", reject);
    build.once("close", resolve);
  });
  const main = path.join(outdir, "index.js");
  if (code !== 0 || !fs.existsSync(main)) throw new Error(`bundling the Worker failed (wrangler deploy --dry-run, exit ${code}):\n${tail}`);
  return readBundle(outdir);
}

/** The bundle wrangler wrote into `outdir`. */
function readBundle(outdir: string): WorkerBundle {
  const main = path.join(outdir, "index.js");
  const files = fs.readdirSync(outdir, { recursive: true, encoding: "utf8" }).filter((f) => f !== "index.js" && moduleType(f));
  const modules: WorkerBundle["modules"] = [main, ...files.map((f) => path.join(outdir, f))].map((file) => ({
    type: moduleType(file)!,
    path: file,
    contents: fs.readFileSync(file),
  }));
  return { main, modules, bytes: modules.reduce((n, m) => n + m.contents.length, 0) };
}

/** What the bundle is made of: these folders and files of the checkout (build outputs and dependencies included). */
const INPUTS = ["worker/src", "protocol", "wrangler.toml", "scripts/build-site-js.ts", "package-lock.json"];
const KEEP = 3;

function inputsHash(): string {
  const hash = crypto.createHash("sha256");
  const add = (rel: string) => {
    const abs = path.join(ROOT, rel);
    const stat = fs.statSync(abs, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) if (name !== "node_modules") add(path.join(rel, name));
    } else {
      hash.update(`${rel}\0${stat.size}\0`).update(fs.readFileSync(abs));
    }
  };
  for (const input of INPUTS) add(input);
  return hash.digest("hex").slice(0, 32);
}

/**
 * The bundle of the checkout's Worker as its sources are now: from the cache when they have not changed since it
 * was made, else bundled (into a folder of its own, renamed into place: concurrent starts never see half a bundle).
 */
export async function cachedBundle(onLine: (line: string) => void): Promise<WorkerBundle & { cached: boolean }> {
  const cache = path.join(os.tmpdir(), `zhub-worker-bundles-${process.getuid?.() ?? "user"}`);
  const dir = path.join(cache, inputsHash());
  if (fs.existsSync(path.join(dir, "index.js"))) return { ...readBundle(dir), cached: true };
  fs.mkdirSync(cache, { recursive: true });
  const temp = `${dir}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
  try {
    await bundleWorker(temp, onLine);
    try {
      fs.renameSync(temp, dir);
    } catch {
      // Another start put the same bundle there first.
    }
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
  // The newest few stay.
  const entries = fs
    .readdirSync(cache)
    .filter((name) => /^[0-9a-f]{32}$/.test(name) && path.join(cache, name) !== dir)
    .map((name) => ({ name, mtime: fs.statSync(path.join(cache, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of entries.slice(KEEP - 1)) fs.rmSync(path.join(cache, old.name), { recursive: true, force: true });
  return { ...readBundle(dir), cached: false };
}
