/**
 * Runs the `zhub` command line as users run it: `node converter/bin/zhub.js …` as a child process, with its own
 * configuration file (`ZHUB_CONFIG` in a temporary directory) and HOME, so the developer's own login is never
 * read or touched.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const BIN = path.resolve(import.meta.dirname, "../../converter/bin/zhub.js");

export interface ZhubResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Zhub {
  /** Where this user's zhub keeps its configuration. */
  dir: string;
  config: string;
  run(args: string[], options?: { stdin?: string; env?: Record<string, string> }): Promise<ZhubResult>;
  remove(): Promise<void>;
}

export async function zhubUser(): Promise<Zhub> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-cli-"));
  const config = path.join(dir, "config", "config.json");
  return {
    dir,
    config,
    run: (args, options = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            TMPDIR: process.env.TMPDIR,
            ZHUB_CONFIG: config,
            ...options.env,
          },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(options.stdin ?? "");
      }),
    remove: () => fs.promises.rm(dir, { recursive: true, force: true }),
  };
}
