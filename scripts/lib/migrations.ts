/** Applies the D1 migrations to a local database (`wrangler d1 migrations apply DB --local`). */
import { spawn } from "node:child_process";
import { ROOT } from "./devvars.ts";
import { WRANGLER, wranglerEnv } from "./processes.ts";

/** `persistTo` undefined: wrangler's default state (`.wrangler/state`). Output lines go to `onLine`. */
export function applyMigrations(persistTo: string | undefined, onLine: (line: string) => void): Promise<void> {
  const args = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (d: Buffer) => {
        const text = d.toString();
        tail = (tail + text).slice(-4000);
        for (const line of text.split("\n")) if (line.trim()) onLine(line);
      });
    }
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`wrangler d1 migrations apply failed (${code ?? signal}):\n${tail}`)),
    );
  });
}
