/**
 * The Worker bundled once, as `wrangler deploy` would upload it (`wrangler deploy --dry-run --outdir`: wrangler.toml's
 * `[build]` command first, then wrangler's bundler with its nodejs_compat handling; no account needed). The lean
 * runtime (scripts/lib/runtime.ts) runs this bundle: edits to the sources during a run do not restart the Worker
 * (`npm run dev` is the live-reloading way).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
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
  const files = fs.readdirSync(outdir, { recursive: true, encoding: "utf8" }).filter((f) => f !== "index.js" && moduleType(f));
  const modules: WorkerBundle["modules"] = [main, ...files.map((f) => path.join(outdir, f))].map((file) => ({
    type: moduleType(file)!,
    path: file,
    contents: fs.readFileSync(file),
  }));
  return { main, modules, bytes: modules.reduce((n, m) => n + m.contents.length, 0) };
}
