/**
 * The real local stack for end-to-end tests, all on 127.0.0.1 with free ports and temporary state:
 *
 *   Debian redis-server (the chunk store, standing in for 0-db)
 *   the converter service (a child process: `node --import tsx converter/src/service/main.ts`)
 *   wrangler dev (local D1/R2/Queues in its own --persist-to directory, migrations applied first), with
 *   HUB_CONVERTER_URL pointing at the converter and the test's own seed and internal secret (an --env-file, so
 *   the developer's .dev.vars is never read or touched), running the Worker bundled once at start (edits to the
 *   sources during a run do not restart it), on a private port behind the local front (scripts/lib/front.ts, as
 *   `npm start` runs it): `hubUrl` is the front's
 *
 * `startStack()` in a `beforeAll`, `stack.stop()` in the `afterAll`. Fault tests get stopConverter()/
 * startConverter() (same port, so the Worker keeps reaching it) and stopRedis()/startRedis() (same port; Redis
 * runs without persistence, so a restarted store is empty). `E2E_VERBOSE=1` relays every child's output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type RunningRedis, startRedis as startTestRedis } from "../../converter/test/support/redis.ts";
import { type ChunkStore, openStore } from "../../converter/src/store/index.ts";
import { signToken } from "../../worker/src/auth/tokens.ts";
import { applyMigrations } from "../../scripts/lib/migrations.ts";
import { waitForHttps } from "./tls.ts";
import { type Front, startFront } from "../../scripts/lib/front.ts";
import { type Child, WRANGLER, converterCommand, freePort, startChild, waitForHttp, wranglerEnv } from "../../scripts/lib/processes.ts";

const HOST = "127.0.0.1";
const VERBOSE = process.env.E2E_VERBOSE === "1";

export interface StackOptions {
  /** Extra Worker variables (e.g. `HUB_JOB_LEASE_SECONDS: "5"`), written to the Worker's env file. */
  workerVars?: Record<string, string>;
  /** Extra converter environment (e.g. `CONVERTER_MAX_EXPANDED_BYTES`). */
  converterEnv?: Record<string, string>;
  /**
   * Serve the Worker over HTTPS with this key and certificate (e2e/support/tls.ts makeTestCert()): LXD/Incus
   * remotes must be HTTPS. The converter trusts the certificate (NODE_EXTRA_CA_CERTS); `hubUrl` is `https://…`.
   */
  tls?: { keyPath: string; certPath: string };
}

export interface Stack {
  /** The Worker (wrangler dev), e.g. `http://127.0.0.1:41234`. */
  hubUrl: string;
  converterUrl: string;
  /** `redis://127.0.0.1:<port>`: the chunk store the converter writes to. */
  redisUrl: string;
  /** HUB_BACKEND of both services: the public backend written into flists. */
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
  stopRedis(): Promise<void>;
  /** Starts an (empty) Redis on the same port again. */
  startRedis(): Promise<void>;
  /** Fires the Worker's scheduled handler once (wrangler dev does not run crons by itself). */
  triggerScheduled(): Promise<void>;
  /** The last lines of every child's output, for failure messages. */
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

/**
 * `wrangler dev` rebuilds and restarts the Worker whenever a source file changes, failing the requests in flight
 * ("Your worker restarted mid-request"); people edit the tree while tests run. So the stack runs the Worker as
 * bundled once at start (`wrangler deploy --dry-run`, no account needed), from a config of its own pointing at that
 * bundle (`no_bundle`): a test sees one consistent Worker from start to end. Answers the config's path.
 */
async function frozenWorkerConfig(work: string, log: LogTail): Promise<string> {
  const outdir = path.join(work, "worker-bundle");
  const build = spawn(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir, "--config", path.join(ROOT, "wrangler.toml")], {
    cwd: ROOT,
    env: wranglerEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  build.stdout.on("data", (d: Buffer) => log.line("[bundle]", d.toString().trimEnd()));
  build.stderr.on("data", (d: Buffer) => log.line("[bundle]", d.toString().trimEnd()));
  const code = await new Promise<number | null>((resolve, reject) => {
    build.on("error", reject);
    build.on("close", resolve);
  });
  const main = path.join(outdir, "index.js");
  if (code !== 0 || !fs.existsSync(main)) throw new Error(`bundling the Worker failed (exit ${code}):\n${log.text()}`);
  const config = fs
    .readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main\s*=.*$/m, `main = ${JSON.stringify(main)}\nno_bundle = true`)
    .replace(/^migrations_dir\s*=.*$/m, `migrations_dir = ${JSON.stringify(path.join(ROOT, "migrations"))}`);
  const file = path.join(work, "wrangler.toml");
  fs.writeFileSync(file, config);
  return file;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = new LogTail();
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-"));
  const persist = path.join(work, "wrangler-state");
  const seed = crypto.randomBytes(32).toString("hex");
  const internalSecret = crypto.randomBytes(24).toString("base64url");
  const [hubPort, workerPort, inspectorPort, converterPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const hubUrl = `${options.tls ? "https" : "http"}://${HOST}:${hubPort}`;
  const converterUrl = `http://${HOST}:${converterPort}`;

  let redis: RunningRedis | undefined;
  let redisChild: ChildProcess | undefined;
  let converter: Child | undefined;
  let wrangler: Child | undefined;
  let front: Front | undefined;
  let store: Promise<ChunkStore> | undefined;

  const stopRedis = async () => {
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

  // If the test process ends without stop() (a crash, an interrupted run), take the children along.
  const killOnExit = () => {
    for (const pid of [wrangler?.running() ? -wrangler.pid : 0, converter?.running() ? converter.pid : 0, redis?.pid ?? 0, redisChild?.pid ?? 0]) {
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
    await front?.close();
    await wrangler?.stop("SIGTERM", 5000);
    await converter?.stop("SIGTERM", 5000);
    await (await store?.catch(() => undefined))?.close();
    await stopRedis();
    await fs.promises.rm(work, { recursive: true, force: true });
  };

  try {
    redis = await startTestRedis();
    const redisPort = redis.port;
    const redisUrl = `redis://${HOST}:${redisPort}`;
    const backend = `${HOST}:${redisPort}`;

    const converterEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      NODE_OPTIONS: process.env.NODE_OPTIONS,
      HUB_URL: hubUrl,
      HUB_CHUNK_STORE: redisUrl,
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
      const [command, args] = converterCommand();
      converter = startChild(command, args, { env: converterEnv(extra), onLine: (l) => log.line("[converter]", l) });
      await waitForHttp(`${converterUrl}/health`, converter, "the converter", 30_000, true).catch((err: Error) => {
        throw new Error(`${err.message}\n${log.text()}`);
      });
    };

    // The Worker's secrets and vars, in a file of our own: wrangler then ignores .dev.vars.
    const envFile = path.join(work, "worker.env");
    const vars: Record<string, string> = {
      HUB_SIGNING_SEED: seed,
      INTERNAL_SECRET: internalSecret,
      HUB_CONVERTER_URL: converterUrl,
      HUB_BACKEND: backend,
      ...options.workerVars,
    };
    fs.writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(""), { mode: 0o600 });

    const [, , workerConfig] = await Promise.all([
      startConverter(),
      applyMigrations(persist, (l) => log.line("[migrations]", l)),
      frozenWorkerConfig(work, log),
    ]);

    wrangler = startChild(
      WRANGLER,
      [
        "dev",
        "--config", workerConfig,
        "--local",
        "--ip", HOST,
        "--port", String(workerPort),
        "--inspector-port", String(inspectorPort),
        "--persist-to", persist,
        "--env-file", envFile,
        "--show-interactive-dev-session=false",
        "--log-level", "warn",
        ...(options.tls
          ? ["--local-protocol", "https", "--https-key-path", options.tls.keyPath, "--https-cert-path", options.tls.certPath]
          : []),
      ],
      { env: wranglerEnv(), group: true, onLine: (l) => log.line("[wrangler]", l) },
    );
    // 200 only: the catalog answers once the Worker runs with its migrated database. wrangler itself first, then
    // through the front (which answers 502 until wrangler does).
    const ready = (url: string) =>
      options.tls
        ? waitForHttps(`${url}/api/flist`, options.tls.certPath, () => wrangler?.running() ?? false, 180_000)
        : waitForHttp(`${url}/api/flist`, wrangler as Child, "wrangler dev", 180_000, true);
    await ready(`${options.tls ? "https" : "http"}://${HOST}:${workerPort}`).catch((err: Error) => {
      throw new Error(`${err.message}\n${log.text()}`);
    });
    front = await startFront({ host: HOST, port: hubPort, upstreamPort: workerPort, ...(options.tls ? { tls: options.tls } : {}), log: (l) => log.line("[front]", l) });
    await ready(hubUrl);

    return {
      hubUrl,
      converterUrl,
      redisUrl,
      backend,
      internalSecret,
      seed,
      token: (user, issuedAt) => signToken(seed, user, issuedAt),
      auth: async (user) => ({ authorization: `bearer ${await signToken(seed, user)}` }),
      store: () => (store ??= openStore(redisUrl)),
      converterPid: () => converter?.pid ?? -1,
      stopConverter: async (signal = "SIGTERM") => {
        await converter?.stop(signal, 5000);
      },
      startConverter,
      stopRedis,
      startRedis: async () => {
        if (redis || redisChild) throw new Error("redis is already running");
        redisChild = await redisOnPort(redisPort, work, log);
      },
      triggerScheduled: async () => {
        const res = await fetch(`${hubUrl}/cdn-cgi/handler/scheduled`);
        await res.body?.cancel();
        if (!res.ok) throw new Error(`scheduled handler answered ${res.status}`);
      },
      logs: () => log.text(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}
