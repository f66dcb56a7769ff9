/** Applies the D1 migrations to a local database (`wrangler d1 migrations apply DB --local`). */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./devvars.ts";
import { WRANGLER, wranglerEnv } from "./processes.ts";

/** What an apply did: `applied` migrations were new, of `total` in the migrations folder. */
export interface MigrationsResult {
  applied: number;
  total: number;
}

/** The migrations folder named by wrangler.toml (`migrations_dir`, default `migrations`). */
function migrationsDir(): string {
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  return path.resolve(ROOT, /^migrations_dir\s*=\s*"([^"]*)"/m.exec(toml)?.[1] ?? "migrations");
}

/** The result in one line: `10 applied (10 in all)`, `up to date (10 in all)`. */
export function describeMigrations({ applied, total }: MigrationsResult): string {
  return `${applied > 0 ? `${applied} applied` : "up to date"} (${total} in all)`;
}

/**
 * `persistTo` undefined: wrangler's default state (`.wrangler/state`). Output lines go to `onLine`. On failure the
 * error's message is a first line saying so, then the end of wrangler's output.
 */
export function applyMigrations(persistTo: string | undefined, onLine: (line: string) => void): Promise<MigrationsResult> {
  const args = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let applied = 0;
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (d: Buffer) => {
        const text = d.toString();
        tail = (tail + text).slice(-4000);
        for (const line of text.split("\n")) {
          if (!line.trim()) continue;
          // wrangler's confirmation prompt, answered by itself in a non-interactive run; none when up to date.
          const count = /About to apply (\d+) migration/.exec(line);
          if (count) applied = Number(count[1]);
          onLine(line);
        }
      });
    }
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code !== 0) {
        reject(new Error(`wrangler d1 migrations apply failed (${code ?? signal}):\n${tail}`));
        return;
      }
      const total = fs.readdirSync(migrationsDir()).filter((f) => f.endsWith(".sql")).length;
      resolve({ applied, total });
    });
  });
}
