/**
 * The Worker's local configuration, derived from wrangler.toml by wrangler's own reader (the function
 * @cloudflare/vitest-pool-workers uses), so the lean runtime (scripts/lib/runtime.ts) gets exactly the bindings
 * `wrangler dev` would: D1, R2, Queue producers and consumers, vars, the `.dev.vars` secrets next to the config
 * file, compatibility date and flags, and any binding added to wrangler.toml later.
 *
 * Read in a child process: importing wrangler installs SIGINT/SIGTERM listeners that exit at once (before
 * `npm start` can stop its services), and costs the long-running process a second of CPU and its memory.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { WorkerOptions } from "miniflare";
import { ROOT } from "./devvars.ts";
import { wranglerEnv } from "./processes.ts";

export interface WorkerConfig {
  /** The Worker's name (`name`): its queue consumers are wired to it. */
  name: string;
  /** Cron triggers (`[triggers] crons`). */
  crons: string[];
  /** The D1 migrations folder of the first database (`migrations_dir`), absolute. */
  migrationsDir: string;
  /** Miniflare options of the Worker: bindings (vars and secrets included), compatibility, module rules. */
  workerOptions: WorkerOptions;
}

// CommonJS, run by `node -e` in the checkout: wrangler's public (unstable_) API, the output as one JSON document.
const READER = `
const wrangler = require("wrangler");
const config = wrangler.unstable_readConfig({ config: process.argv[1] });
const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(config);
process.stdout.write(JSON.stringify({
  name: config.name,
  crons: (config.triggers && config.triggers.crons) || [],
  migrationsDir: (config.d1_databases[0] && config.d1_databases[0].migrations_dir) || "migrations",
  workerOptions,
}));
`;

export function readWorkerConfig(configPath: string): Promise<WorkerConfig> {
  return new Promise((resolve, reject) => {
    // WRANGLER_LOG=warn: no "Using secrets defined in .dev.vars" line.
    const child = spawn(process.execPath, ["-e", READER, configPath], {
      cwd: ROOT,
      env: { ...wranglerEnv(), WRANGLER_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`reading ${configPath} failed (exit ${code}):\n${err}`));
      const read = JSON.parse(out) as { name?: string; crons: string[]; migrationsDir: string; workerOptions: WorkerOptions };
      resolve({
        name: read.name ?? "worker",
        crons: read.crons,
        migrationsDir: path.resolve(path.dirname(configPath), read.migrationsDir),
        workerOptions: read.workerOptions,
      });
    });
  });
}
