/**
 * Starts the real 0-db (the reference `zdb` 2.0.7 binary, docs/zdb.md "Tests") for a test: user mode, on
 * 127.0.0.1 with a free port, data and index in a temporary directory; optionally a namespace with a password and
 * public reads, set up the way hub.grid.tf runs it (`NSNEW`, `NSSET password`, `NSSET public 1`). `stop()` ends
 * exactly that process; `restart()` starts it again on the same port and data, so what was stored is still there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, waitForPort } from "./ports.ts";
import { zdbBinary } from "./reference-tools.ts";

export interface ZdbOptions {
  /** Create this namespace (else only `default`). */
  namespace?: string;
  /** Its password (writes need `SELECT <ns> <password>`); with `public`, reads need none. */
  password?: string;
  /** Reads without the password (default true when a password is set). */
  public?: boolean;
  /** `--protect`: `default` read-only without the admin password. */
  protect?: boolean;
}

export interface RunningZdb {
  port: number;
  pid: number;
  /** `zdb://[:password@]127.0.0.1:<port>[/namespace]`: the writer's URL. */
  url: string;
  /** The same without the password: a public reader's URL. */
  readUrl: string;
  /** The admin password it runs with (`--admin`). */
  admin: string;
  /** The namespace backend address as flists name it: `127.0.0.1:<port>[/namespace]`. */
  backend: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop()). */
  restart(): Promise<void>;
  /** Stops it (if running) and removes its data. */
  destroy(): Promise<void>;
}

async function launch(port: number, dir: string, admin: string, protect: boolean): Promise<{ child: ChildProcess; output: () => string }> {
  const args = ["--listen", "127.0.0.1", "--port", String(port), "--data", join(dir, "data"), "--index", join(dir, "index"), "--mode", "user", "--admin", admin];
  if (protect) args.push("--protect");
  const child = spawn(zdbBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-4000); };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  try {
    await waitForPort(port, child, () => output, "zdb");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return { child, output: () => output };
}

/** Runs admin commands on a fresh connection (authenticated with the admin password). */
export async function zdbAdmin(port: number, admin: string, commands: string[][]): Promise<unknown[]> {
  const conn = new Redis({ host: "127.0.0.1", port, lazyConnect: true, protocol: 2, enableReadyCheck: false, disableClientInfo: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  conn.on("error", () => {});
  try {
    await conn.connect();
    await conn.call("AUTH", admin);
    const out: unknown[] = [];
    for (const [cmd, ...args] of commands) out.push(await conn.call(cmd!, ...args));
    return out;
  } finally {
    conn.disconnect();
  }
}

export async function startZdb(opts: ZdbOptions = {}): Promise<RunningZdb> {
  const dir = await mkdtemp(join(tmpdir(), "zhub-zdb-"));
  const admin = randomBytes(9).toString("base64url");
  const protect = opts.protect ?? false;
  let port = 0;
  let current: ChildProcess | undefined;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      current = (await launch(port, dir, admin, protect)).child;
      break;
    } catch (e) {
      // Another process may have taken the port between freePort() and the bind: try another one.
      if (attempt < 3 && /in use|bind/i.test(String(e))) continue;
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const { namespace, password } = opts;
  if (namespace !== undefined) {
    const setup: string[][] = [["NSNEW", namespace]];
    if (password !== undefined) setup.push(["NSSET", namespace, "password", password]);
    setup.push(["NSSET", namespace, "public", (opts.public ?? true) ? "1" : "0"]);
    await zdbAdmin(port, admin, setup);
  }
  const auth = password !== undefined ? `:${encodeURIComponent(password)}@` : "";
  const path = namespace !== undefined ? `/${encodeURIComponent(namespace)}` : "";
  const stop = async () => {
    const child = current;
    current = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGCONT"); // in case a test froze it
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  };
  return {
    port,
    get pid() {
      return current?.pid ?? -1;
    },
    url: `zdb://${auth}127.0.0.1:${port}${path}`,
    readUrl: `zdb://127.0.0.1:${port}${path}`,
    admin,
    backend: `127.0.0.1:${port}${namespace !== undefined ? `/${namespace}` : ""}`,
    stop,
    restart: async () => {
      if (current) throw new Error("zdb is already running");
      current = (await launch(port, dir, admin, protect)).child;
    },
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
