/**
 * Child processes of the local stack (`npm start`, the end-to-end harness): free ports, readiness probes, output
 * relayed line by line with tokens redacted (protocol/redact.ts: wrangler's request lines show `GET /token/<token>`),
 * and stopping exactly the processes we started (a process group for wrangler, whose workerd children must go too).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { redactSecrets } from "../../protocol/redact.ts";
import { ROOT } from "./devvars.ts";

export const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
export const CONVERTER_MAIN = path.join(ROOT, "converter", "src", "service", "main.ts");

/** A port nobody listens on right now (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Whether `host:port` can be bound (nobody listens there). */
export function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export interface Child {
  process: ChildProcess;
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Signals the process (its whole group when started with `group`), then SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group: stop() then reaches its descendants (wrangler → workerd). */
  group?: boolean;
  /** Every line of stdout and stderr, tokens redacted (protocol/redact.ts). */
  onLine?: (line: string) => void;
  /** Pass lines through unredacted: for a caller that must read a secret the child prints (e2e/start.test.ts). */
  raw?: boolean;
}

export function startChild(command: string, args: string[], options: StartOptions): Child {
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.group ?? false,
  };
  const child = spawn(command, args, spawnOptions);
  for (const stream of [child.stdout, child.stderr]) {
    const onLine = options.onLine;
    if (stream && onLine) readline.createInterface({ input: stream }).on("line", (line) => onLine(options.raw ? line : redactSecrets(line)));
    else stream?.resume();
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: -1, signal: null }));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (options.group && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    process: child,
    pid: child.pid ?? -1,
    exited,
    running,
    stop: async (signal = "SIGTERM", graceMs = 10_000) => {
      if (running()) {
        kill(signal);
        const timer = setTimeout(() => kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The group may outlive its leader (workerd after wrangler): make sure nothing of it stays.
      if (options.group) kill("SIGKILL");
    },
  };
}

/**
 * Resolves once `url` answers HTTP at all (any status), or with `ok` only a 2xx. Fails when `child` exits first
 * or after `timeoutMs`.
 */
export async function waitForHttp(url: string, child: Child, what: string, timeoutMs: number, ok = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`${what} exited before answering on ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (!ok || res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: no HTTP answer from ${url} after ${timeoutMs / 1000} s`);
}

/**
 * Process environment for wrangler: no telemetry, no prompts, and none of the requests wrangler makes on its own
 * at start, which fail offline: the banner's update check against the npm registry (WRANGLER_HIDE_BANNER, as
 * scripts/deploy/wrangler.ts does) and miniflare's fetch of https://workers.cloudflare.com/cf.json for the
 * `Request.cf` object (CLOUDFLARE_CF_FETCH_ENABLED=false: its fixed placeholder instead; the Worker reads no
 * `request.cf`), which printed a `getaddrinfo ENOTFOUND` stack trace at every start without a network.
 */
export function wranglerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    CI: "1",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  // Secrets reach the Worker through .dev.vars / --env-file only, never through wrangler's own environment.
  delete env.HUB_SIGNING_SEED;
  delete env.INTERNAL_SECRET;
  return env;
}

/** `node --import tsx converter/src/service/main.ts`: one process (tsx's CLI would add a parent), so its pid is the service's. */
export function converterCommand(): [string, string[]] {
  return [process.execPath, ["--import", "tsx", CONVERTER_MAIN]];
}
