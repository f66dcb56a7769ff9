/**
 * The real local stack for end-to-end tests, all on 127.0.0.1 with free ports and temporary state:
 *
 *   the chunk store: Debian redis-server (default), the real 0-db 2.0.7 (`store: "zdb"`), or the embedded 0-db
 *   server over a file store, as `npm start` runs it (`store: "embedded"`); the last two optionally with the
 *   chunks in a namespace whose writes need a password (reads are public, as on hub.grid.tf)
 *   the converter service (a child process: `node --import tsx converter/src/service/main.ts`, or what the
 *   `converter` option starts: the compiled bundle, the production image)
 *   the Worker in the lean runtime of `npm start` (scripts/lib/runtime.ts: bundled once at start, so edits to the
 *   sources during a run do not restart it; Miniflare in this process, local D1/R2/Queues in the stack's own state
 *   directory, migrations applied first), with HUB_CONVERTER_URL pointing at the converter and the test's own seed
 *   and internal secret (a `.dev.vars` next to a copy of wrangler.toml in the stack's directory, so the
 *   developer's .dev.vars is never read or touched), behind the local front (scripts/lib/front.ts): `hubUrl` is the
 *   front's
 *
 * `startStack()` in a `beforeAll`, `stack.stop()` in the `afterAll`. Fault tests get stopConverter()/
 * startConverter() (same port, so the Worker keeps reaching it) and stopStore()/startStore() (same port; Redis
 * runs without persistence, so a restarted redis is empty; 0-db and the embedded server keep their chunks).
 * `E2E_VERBOSE=1` relays every child's output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type RunningRedis, startRedis as startTestRedis } from "../../converter/test/support/redis.ts";
import { type RunningZdb, startZdb } from "../../converter/test/support/zdb.ts";
import { type ChunkServer, startChunkServer } from "../../scripts/lib/chunk-server.ts";
import { type ChunkStore, openStore } from "../../converter/src/store/index.ts";
import { signToken } from "../../worker/src/auth/tokens.ts";
import { applyMigrations } from "../../scripts/lib/migrations.ts";
import { waitForHttps } from "./tls.ts";
import { type Child, converterCommand, freePort, startChild, waitForHttp } from "../../scripts/lib/processes.ts";
import { type Runtime, startRuntime } from "../../scripts/lib/runtime.ts";

const HOST = "127.0.0.1";
const VERBOSE = process.env.E2E_VERBOSE === "1";

/** How a converter process is started with the service's environment (`HUB_URL`, `CONVERTER_PORT`, …). */
export type ConverterLauncher = (env: Record<string, string>) => {
  command: string;
  args: string[];
  /** The process's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Start it in its own process group, stopped as a whole (a wrapper such as `buildah run` and its child). */
  group?: boolean;
};

/** A converter on this machine (`node <args>`): the service's environment plus the host's PATH, HOME, TMPDIR. */
export function hostConverter(args: string[]): ConverterLauncher {
  return (env) => ({
    command: process.execPath,
    args,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NODE_OPTIONS: process.env.NODE_OPTIONS, ...env },
  });
}

export interface StackOptions {
  /**
   * How the converter runs (default: its TypeScript through tsx, scripts/lib/processes.ts converterCommand();
   * the bundle and image tests run the compiled service or the image instead).
   */
  converter?: ConverterLauncher;
  /** Extra Worker variables (e.g. `HUB_JOB_LEASE_SECONDS: "5"`), written to the Worker's env file. */
  workerVars?: Record<string, string>;
  /** Extra converter environment (e.g. `CONVERTER_MAX_EXPANDED_BYTES`). */
  converterEnv?: Record<string, string>;
  /**
   * Serve the Worker over HTTPS with this key and certificate (e2e/support/tls.ts makeTestCert()): LXD/Incus
   * remotes must be HTTPS. The converter trusts the certificate (NODE_EXTRA_CA_CERTS); `hubUrl` is `https://…`.
   */
  tls?: { keyPath: string; certPath: string };
  /** The chunk store (default `redis`); see the top of this file. */
  store?: "redis" | "zdb" | "embedded";
  /** `zdb` / `embedded`: the chunks in this namespace (HUB_BACKEND `host:port/<name>`), written with `password`. */
  namespace?: { name: string; password: string };
  /** Keep the runtime's request lines (`GET /path 200 OK (3ms)`, as `npm start` with HUB_LOG=verbose) in logs(). */
  requestLines?: boolean;
}

export interface Stack {
  /** The hub (the front before the Worker), e.g. `http://127.0.0.1:41234`. */
  hubUrl: string;
  converterUrl: string;
  /** HUB_CHUNK_STORE of the converter (password included): `redis://…` or `zdb://…`. */
  storeUrl: string;
  /** The same without the password: what a public reader (a node) opens. */
  publicStoreUrl: string;
  /** HUB_BACKEND of both services: the public backend written into flists (`host:port[/namespace]`). */
  backend: string;
  /** INTERNAL_SECRET of this stack (for `/internal/*` calls from tests). */
  internalSecret: string;
  /** HUB_SIGNING_SEED of this stack. */
  seed: string;
  /** A hub API token for `user`, signed with this stack's seed. */
  token(user: string, issuedAt?: number): Promise<string>;
  /** `{ authorization: "bearer <token>" }` for `user`. */
  auth(user: string): Promise<Record<string, string>>;
  /** A client of the chunk store (opened once, closed by stop()). */
  store(): Promise<ChunkStore>;
  /** The converter process id (e.g. to SIGSTOP it). */
  converterPid(): number;
  /** Stops the converter: SIGTERM (graceful: running jobs are abandoned, not failed) or SIGKILL (a crash). */
  stopConverter(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts the converter again on the same port, with `env` added to its environment. */
  startConverter(env?: Record<string, string>): Promise<void>;
  /** The chunk store's process id (redis-server, zdb; e.g. to freeze it), or null for the embedded server. */
  storePid(): number | null;
  /** Stops the chunk store (its address then refuses connections). */
  stopStore(): Promise<void>;
  /** Starts the chunk store again on the same port (redis: empty; 0-db, embedded: with its chunks). */
  startStore(): Promise<void>;
  /** Fires the Worker's scheduled handler once (the stack runs no crons by itself). */
  triggerScheduled(): Promise<void>;
  /** The last lines of every child's output (as relayed: tokens redacted), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Keeps the last lines of the children's output; relays them when E2E_VERBOSE=1. */
class LogTail {
  private readonly lines: string[] = [];
  line(prefix: string, line: string): void {
    const text = `${prefix} ${line}`;
    this.lines.push(text);
    if (this.lines.length > 400) this.lines.shift();
    if (VERBOSE) process.stderr.write(`${text}\n`);
  }
  text(): string {
    return this.lines.join("\n");
  }
}

/** Redis on a given port (a restart keeps the converter's HUB_CHUNK_STORE valid). Same options as startRedis(). */
function redisOnPort(port: number, dir: string, log: LogTail): Promise<ChildProcess> {
  const binary = ["/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p)) ?? "redis-server";
  const child = spawn(binary, ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => log.line("[redis]", d.toString().trimEnd()));
  child.stderr?.on("data", (d: Buffer) => log.line("[redis]", d.toString().trimEnd()));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const probe = async () => {
      if (child.exitCode !== null) return reject(new Error(`redis-server exited (${child.exitCode}):\n${log.text()}`));
      try {
        const store = await openStore(`redis://${HOST}:${port}`, { connectTimeoutMs: 500 });
        await store.close();
        resolve(child);
      } catch {
        if (Date.now() > deadline) {
          child.kill("SIGKILL");
          reject(new Error(`redis-server did not listen on ${port}`));
        } else setTimeout(probe, 50);
      }
    };
    void probe();
  });
}

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The chunk store of a stack, whichever it is. */
interface StackStore {
  /** HUB_CHUNK_STORE of the converter. */
  url: string;
  publicUrl: string;
  backend: string;
  /** Its processes, for the exit handler. */
  pids(): number[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes what it stored. */
  destroy(): Promise<void>;
}

async function redisStore(work: string, log: LogTail): Promise<StackStore> {
  let redis: RunningRedis | undefined = await startTestRedis();
  let redisChild: ChildProcess | undefined;
  const port = redis.port;
  const stop = async () => {
    if (redis) {
      await redis.stop();
      redis = undefined;
    }
    if (redisChild && redisChild.exitCode === null && redisChild.signalCode === null) {
      const exited = new Promise((r) => redisChild!.once("exit", r));
      redisChild.kill("SIGTERM");
      await exited;
    }
    redisChild = undefined;
  };
  const url = `redis://${HOST}:${port}`;
  return {
    url,
    publicUrl: url,
    backend: `${HOST}:${port}`,
    pids: () => [redis?.pid ?? 0, redisChild?.pid ?? 0],
    stop,
    start: async () => {
      if (redis || redisChild) throw new Error("redis is already running");
      redisChild = await redisOnPort(port, work, log);
    },
    destroy: stop,
  };
}

async function zdbStore(namespace: StackOptions["namespace"]): Promise<StackStore> {
  const zdb: RunningZdb = await startZdb(namespace ? { namespace: namespace.name, password: namespace.password } : {});
  return {
    url: zdb.url,
    publicUrl: zdb.readUrl,
    backend: zdb.backend,
    pids: () => [zdb.pid > 0 ? zdb.pid : 0],
    stop: () => zdb.stop(),
    start: () => zdb.restart(),
    destroy: () => zdb.destroy(),
  };
}

/** As `npm start` runs it: a file store in the stack's directory, served by the embedded 0-db server. */
async function embeddedStore(work: string, namespace: StackOptions["namespace"], log: LogTail): Promise<StackStore> {
  const port = await freePort();
  const ns = namespace ? `/${namespace.name}` : "";
  const options = {
    chunkStore: pathToFileURL(path.join(work, "chunks")).href,
    backend: `${HOST}:${port}${ns}`,
    password: namespace?.password ?? null,
    onError: (err: Error) => log.line("[0-db server]", err.message),
  };
  const start = async () => (await startChunkServer(options))!;
  let server: ChunkServer | null = await start();
  const url = server.url;
  return {
    url,
    publicUrl: `zdb://${HOST}:${port}${ns}`,
    backend: options.backend,
    pids: () => [],
    stop: async () => {
      await server?.close();
      server = null;
    },
    start: async () => {
      if (server) throw new Error("the embedded 0-db server is already running");
      server = await start();
    },
    destroy: async () => {
      await server?.close();
      server = null;
    },
  };
}

/**
 * A copy of wrangler.toml in the stack's directory (its relative paths made absolute) with the stack's secrets in a
 * `.dev.vars` beside it: the runtime reads the bindings from there, never the developer's `.dev.vars`.
 */
function stackConfig(work: string, secrets: Record<string, string>): string {
  const config = fs
    .readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main\s*=\s*"([^"]*)"/m, (_m, main: string) => `main = ${JSON.stringify(path.resolve(ROOT, main))}`)
    .replace(/^migrations_dir\s*=\s*"([^"]*)"/m, (_m, dir: string) => `migrations_dir = ${JSON.stringify(path.resolve(ROOT, dir))}`);
  const file = path.join(work, "wrangler.toml");
  fs.writeFileSync(file, config);
  fs.writeFileSync(path.join(work, ".dev.vars"), Object.entries(secrets).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(""), { mode: 0o600 });
  return file;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = new LogTail();
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-"));
  const persist = path.join(work, "state");
  const seed = crypto.randomBytes(32).toString("hex");
  const internalSecret = crypto.randomBytes(24).toString("base64url");
  const [hubPort, converterPort] = [await freePort(), await freePort()];
  const hubUrl = `${options.tls ? "https" : "http"}://${HOST}:${hubPort}`;
  const converterUrl = `http://${HOST}:${converterPort}`;

  const kind = options.store ?? "redis";
  if (kind === "redis" && options.namespace) throw new Error("a namespace needs store: \"zdb\" or \"embedded\"");
  let chunks: StackStore | undefined;
  let converter: Child | undefined;
  let converterGroup = false;
  let runtime: Runtime | undefined;
  let store: Promise<ChunkStore> | undefined;

  // If the test process ends without stop() (a crash, an interrupted run), take the children along.
  const killOnExit = () => {
    // (workerd goes with this process: Miniflare's exit hook.)
    for (const pid of [converter?.running() ? (converterGroup ? -converter.pid : converter.pid) : 0, ...(chunks?.pids() ?? [])]) {
      try {
        if (pid !== 0) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);

  const stopAll = async () => {
    process.off("exit", killOnExit);
    await runtime?.close();
    await converter?.stop("SIGTERM", 5000);
    await (await store?.catch(() => undefined))?.close();
    await chunks?.destroy();
    await fs.promises.rm(work, { recursive: true, force: true });
  };

  try {
    chunks = kind === "zdb" ? await zdbStore(options.namespace) : kind === "embedded" ? await embeddedStore(work, options.namespace, log) : await redisStore(work, log);
    const { url: storeUrl, publicUrl: publicStoreUrl, backend } = chunks;
    const running = chunks;

    const converterEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
      HUB_URL: hubUrl,
      HUB_CHUNK_STORE: storeUrl,
      HUB_BACKEND: backend,
      INTERNAL_SECRET: internalSecret,
      CONVERTER_HOST: HOST,
      CONVERTER_PORT: String(converterPort),
      ...(options.tls ? { NODE_EXTRA_CA_CERTS: options.tls.certPath } : {}),
      ...options.converterEnv,
      ...extra,
    });
    const startConverter = async (extra: Record<string, string> = {}) => {
      if (converter?.running()) throw new Error("the converter is already running");
      const launch = (options.converter ?? hostConverter(converterCommand()[1]))(converterEnv(extra));
      converterGroup = launch.group ?? false;
      converter = startChild(launch.command, launch.args, { env: launch.env, group: launch.group, onLine: (l) => log.line("[converter]", l) });
      await waitForHttp(`${converterUrl}/health`, converter, "the converter", 60_000, true).catch((err: Error) => {
        throw new Error(`${err.message}\n${log.text()}`);
      });
    };

    const configPath = stackConfig(work, { HUB_SIGNING_SEED: seed, INTERNAL_SECRET: internalSecret });
    const converterUp = startConverter();
    const runtimeUp = startRuntime({
      host: HOST,
      port: hubPort,
      configPath,
      persistDir: persist,
      vars: { HUB_CONVERTER_URL: converterUrl, HUB_BACKEND: backend, ...options.workerVars },
      ...(options.tls ? { tls: options.tls } : {}),
      requestLines: options.requestLines ?? false,
      before: applyMigrations(persist, (l) => log.line("[migrations]", l)),
      onLine: (line, kind) => log.line(kind === "info" ? "[runtime]" : `[worker ${kind}]`, line),
    }).then((started) => (runtime = started));
    const [converterStart, runtimeStart] = await Promise.allSettled([converterUp, runtimeUp]);
    for (const step of [converterStart, runtimeStart]) if (step.status === "rejected") throw new Error(`${(step.reason as Error).message}\n${log.text()}`);
    // 200 only: the catalog answers once the Worker runs with its migrated database.
    if (options.tls) await waitForHttps(`${hubUrl}/api/flist`, options.tls.certPath, () => true, 180_000);
    else {
      const res = await fetch(`${hubUrl}/api/flist`);
      if (res.status !== 200) throw new Error(`the Worker answered ${res.status}: ${await res.text()}\n${log.text()}`);
    }

    return {
      hubUrl,
      converterUrl,
      storeUrl,
      publicStoreUrl,
      backend,
      internalSecret,
      seed,
      token: (user, issuedAt) => signToken(seed, user, issuedAt),
      auth: async (user) => ({ authorization: `bearer ${await signToken(seed, user)}` }),
      store: () => (store ??= openStore(storeUrl)),
      converterPid: () => converter?.pid ?? -1,
      stopConverter: async (signal = "SIGTERM") => {
        await converter?.stop(signal, 5000);
      },
      startConverter,
      storePid: () => running.pids().find((p) => p > 0) ?? null,
      stopStore: () => running.stop(),
      startStore: () => running.start(),
      triggerScheduled: async () => {
        // Through Miniflare, not the front: the same with or without TLS.
        const status = await runtime!.triggerScheduled();
        if (status !== 200) throw new Error(`scheduled handler answered ${status}`);
      },
      logs: () => log.text(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}
