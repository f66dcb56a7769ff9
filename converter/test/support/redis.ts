/**
 * Starts Debian's real `redis-server` for a test, on 127.0.0.1 with a free port, no persistence, in a
 * temporary directory; `stop()` terminates exactly that process. Shared by every converter test that needs a
 * chunk store (docs/clients.md §4.5: Redis stands in for 0-db).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.ts";

export interface RunningRedis {
  /** `redis://[:password@]127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The redis-server process id (e.g. to SIGSTOP it and simulate a hung server). */
  pid: number;
  stop(): Promise<void>;
}

function redisBinary(): string {
  for (const p of [process.env.REDIS_SERVER, "/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error("redis-server not found (install Debian's redis-server; .ci/run does)");
}

export async function startRedis(opts: { password?: string } = {}): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), "zhub-redis-"));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--dir", dir, "--daemonize", "no", "--loglevel", "warning"];
    if (opts.password !== undefined) args.push("--requirepass", opts.password);
    const child = spawn(redisBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    child.stderr!.on("data", (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await waitForPort(port, child, () => output, "redis-server");
    } catch (e) {
      child.kill("SIGKILL");
      await exited;
      // Another process may have taken the port between freePort() and the bind: try another one.
      if (attempt < 3 && /Address already in use/i.test(output)) continue;
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : "";
    let stopped: Promise<void> | null = null;
    return {
      url: `redis://${auth}127.0.0.1:${port}`,
      port,
      pid: child.pid!,
      stop: () => (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGCONT"); // in case a test froze it
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(t);
        }
        await rm(dir, { recursive: true, force: true });
      })()),
    };
  }
}
