/**
 * The Worker's local configuration, derived from wrangler.toml by wrangler's own reader (the function
 * @cloudflare/vitest-pool-workers uses), so the lean runtime (scripts/lib/runtime.ts) gets exactly the bindings
 * `wrangler dev` would: D1, R2, Queue producers and consumers, vars, the `.dev.vars` secrets next to the config
 * file, compatibility date and flags, and any binding added to wrangler.toml later.
 */
import path from "node:path";
import type { WorkerOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

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

export function readWorkerConfig(configPath: string): WorkerConfig {
  // wrangler says "Using secrets defined in .dev.vars" at info level; npm start's output has no room for it.
  const level = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "warn";
  try {
    const config = unstable_readConfig({ config: configPath });
    const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
    return {
      name: config.name ?? "worker",
      crons: config.triggers?.crons ?? [],
      migrationsDir: path.resolve(path.dirname(configPath), config.d1_databases[0]?.migrations_dir ?? "migrations"),
      workerOptions: workerOptions as WorkerOptions,
    };
  } finally {
    if (level === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = level;
  }
}
