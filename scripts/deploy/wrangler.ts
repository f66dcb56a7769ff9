/**
 * Runs wrangler for the deploy script: every step is a real wrangler command, so wrangler does the work (auth,
 * API calls, bundling, container images). Non-interactive (CI=1: wrangler never prompts), no telemetry, and the
 * hub's secrets removed from its environment: they reach the Worker only through a `--secrets-file`.
 */
import { spawn } from "node:child_process";
import { ROOT } from "../lib/devvars.ts";
import { WRANGLER } from "../lib/processes.ts";
import { SECRET_NAMES } from "./secrets.ts";

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class WranglerError extends Error {
  constructor(
    readonly args: string[],
    readonly result: WranglerResult,
    scrub: (text: string) => string,
  ) {
    const output = scrub(stripAnsi(`${result.stdout}\n${result.stderr}`).trim());
    super(`wrangler ${args.join(" ")} failed (exit ${result.code}):\n${indent(output.split("\n").slice(-30).join("\n"))}`);
  }

  /** wrangler's own output, ANSI colours removed (to recognise an expected failure such as "not found"). */
  get output(): string {
    return stripAnsi(`${this.result.stdout}\n${this.result.stderr}`);
  }
}

export interface RunOptions {
  /** Each output line as it comes (the script relays the output of steps that change something). */
  onLine?: (line: string) => void;
  /** Applied to every relayed line and error message: secret values never reach the terminal. */
  scrub?: (text: string) => string;
  /** Exit codes that are not an error (the caller reads the output). */
  allowFailure?: boolean;
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

export function indent(text: string, prefix = "    "): string {
  return text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

/** wrangler's environment: the caller's (token, account, API base URL) without the hub's secrets. */
export function wranglerProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CI: "1", WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true" };
  for (const name of SECRET_NAMES) delete env[name];
  return env;
}

export function runWrangler(args: string[], options: RunOptions = {}, env: NodeJS.ProcessEnv = wranglerProcessEnv()): Promise<WranglerResult> {
  const scrub = options.scrub ?? ((t: string) => t);
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const relay = (text: string) => {
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) options.onLine(scrub(stripAnsi(line)));
    };
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      relay(d.toString());
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      relay(d.toString());
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (pending && options.onLine) options.onLine(scrub(stripAnsi(pending)));
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !options.allowFailure) reject(new WranglerError(args, result, scrub));
      else resolve(result);
    });
  });
}
