/**
 * The lean local runtime of `npm start` and the end-to-end stack: the Worker, bundled once
 * (scripts/lib/worker-bundle.ts; again only when its sources changed), served by Miniflare directly (the library `wrangler dev` drives), with the bindings
 * wrangler.toml declares (scripts/lib/worker-config.ts), behind the local front (scripts/lib/front.ts) in this same
 * process. Compared with `wrangler dev` there is no second proxy, no inspector, no file watcher and no request line
 * per request (unless `requestLines`): docs/benchmarks.md "Catalog" has the figures.
 *
 * State lives where `wrangler dev` keeps it (`<persistDir>/v3/{d1,r2,queues,…}`, persistDir defaulting to
 * `.wrangler/state`), so `npm start`, `npm run dev` and `wrangler d1 … --local` all see the same data.
 * The scheduled handler answers at `/cdn-cgi/handler/scheduled` (as under `wrangler dev`); nothing fires it by
 * itself: `fireCrons` does, every minute, when the config declares crons.
 */
import path from "node:path";
import readline from "node:readline";
import type { Readable } from "node:stream";
import { Log, LogLevel, Miniflare } from "miniflare";
import { redactSecrets } from "../../protocol/redact.ts";
import { ROOT } from "./devvars.ts";
import { type Front, startFront } from "./front.ts";
import { cachedBundle } from "./worker-bundle.ts";
import { type WorkerConfig, readWorkerConfig } from "./worker-config.ts";

const CRON_INTERVAL_MS = 60_000;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export interface RuntimeOptions {
  host: string;
  /** The front's port (the hub's address); 0: any free port. */
  port: number;
  /** wrangler.toml to take the bindings (and the `.dev.vars` next to it) from; default the checkout's. */
  configPath?: string;
  /** State folder, as `wrangler dev --persist-to`; default `.wrangler/state`. */
  persistDir?: string;
  /** Variables set over the config's `[vars]` and secrets (as `wrangler dev --var`). */
  vars?: Record<string, string>;
  /** Serve HTTPS with this key and certificate (the front and workerd behind it). */
  tls?: { keyPath: string; certPath: string };
  /** One line per request (`GET /path 200 OK (3ms)`), as `wrangler dev` prints them. */
  requestLines?: boolean;
  /** Awaited (while the Worker is bundled) before workerd starts on the state: e.g. the D1 migrations. */
  before?: Promise<unknown>;
  /** Fire the scheduled handler every minute when the config declares crons (`npm start`). */
  fireCrons?: boolean;
  /**
   * The runtime's output, line by line, tokens redacted: the Worker's console (`stderr`: console.warn/error;
   * `stdout`: console.log/info), Miniflare's own messages and request lines (`info`, warnings and errors as `error`).
   */
  onLine?: (line: string, kind: "stdout" | "stderr" | "info" | "error") => void;
  /**
   * Called once if workerd goes away while the runtime is not being closed (a crash, an OOM kill): the hub cannot
   * answer any more, and the front alone would only answer 502s. `npm start` stops everything and exits 1.
   */
  onExit?: (reason: string) => void;
}

export interface Runtime {
  /** The hub's address (the front's). */
  url: string;
  port: number;
  /** The address of workerd the front forwards to. */
  workerUrl: string;
  /**
   * Bundle size in bytes, how long bundling took (or finding it in the cache: `bundleCached`), and the start of
   * workerd and the front after it (ms).
   */
  stats: { bundleBytes: number; bundleMs: number; bundleCached: boolean; startMs: number };
  /** Fires the scheduled handler once; resolves with its HTTP status. */
  triggerScheduled(): Promise<number>;
  close(): Promise<void>;
}

/** Miniflare's log, as lines to `onLine` (errors and warnings always; info, such as request lines, when asked). */
class LineLog extends Log {
  constructor(
    level: LogLevel,
    private readonly emit: (line: string, kind: "info" | "error") => void,
  ) {
    super(level);
  }
  override logWithLevel(level: LogLevel, message: string): void {
    if (level > this.level) return;
    for (const line of message.split("\n")) this.emit(redactSecrets(line), level <= LogLevel.WARN ? "error" : "info");
  }
}

function relayLines(stream: Readable, emit: (line: string) => void): void {
  readline.createInterface({ input: stream }).on("line", (line) => emit(redactSecrets(line)));
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const onLine = options.onLine ?? (() => undefined);
  const configPath = options.configPath ?? path.join(ROOT, "wrangler.toml");
  const persistDir = options.persistDir ?? path.join(ROOT, ".wrangler", "state");
  const started = performance.now();
  let mf: Miniflare | undefined;
  let front: Front | undefined;
  let cron: NodeJS.Timeout | undefined;
  let closing = false;
  const close = async () => {
    closing = true;
    if (cron) clearInterval(cron);
    await front?.close();
    await mf?.dispose();
  };
  try {
    const bundling = cachedBundle((line) => onLine(line, "info")).then((bundle) => ({ bundle, bundleMs: performance.now() - started }));
    // All settle before a failure is thrown (the `before` one first): nothing is left running behind a failed start.
    const [before, built, read] = await Promise.allSettled([options.before, bundling, readWorkerConfig(configPath)]);
    for (const step of [before, built, read]) if (step.status === "rejected") throw step.reason;
    const { bundle, bundleMs } = (built as PromiseFulfilledResult<Awaited<typeof bundling>>).value;
    const config = (read as PromiseFulfilledResult<WorkerConfig>).value;
    const workerdStarted = performance.now();
    const scheme = options.tls ? "https" : "http";
    // Without TLS and request lines, the front talks to a socket of the Worker's own, past Miniflare's entry worker
    // (which only logs requests, prettifies uncaught errors and serves /cdn-cgi/, sent there still): a quarter less
    // workerd CPU per request (docs/benchmarks.md "Catalog"). Over TLS the Worker must see https:// URLs, which the
    // entry gives it.
    const direct = !options.tls && !options.requestLines;
    const bindings: Record<string, unknown> = { ...(config.workerOptions.bindings ?? {}), ...options.vars };
    const signalListeners = SIGNALS.map((signal) => new Set(process.listeners(signal)));
    mf = new Miniflare({
      host: options.host,
      port: 0,
      ...(options.tls ? { https: true, httpsKeyPath: options.tls.keyPath, httpsCertPath: options.tls.certPath } : {}),
      defaultPersistRoot: path.join(persistDir, "v3"),
      // `/cdn-cgi/handler/scheduled`, as under wrangler dev.
      unsafeTriggerHandlers: true,
      logRequests: options.requestLines ?? false,
      log: new LineLog(options.requestLines ? LogLevel.INFO : LogLevel.WARN, onLine),
      // The placeholder `request.cf` (the Worker reads none), never a fetch of workers.cloudflare.com.
      cf: false,
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        relayLines(stdout, (line) => onLine(line, "stdout"));
        relayLines(stderr, (line) => onLine(line, "stderr"));
        // Miniflare has no event for workerd's exit; its output ending is one (the process's pipes close with it).
        stdout.once("end", () => {
          if (!closing) options.onExit?.("the Worker's runtime (workerd) exited");
        });
      },
      workers: [
        {
          ...config.workerOptions,
          name: config.name,
          modulesRoot: path.dirname(bundle.main),
          modules: bundle.modules,
          bindings,
          ...(direct ? { unsafeDirectSockets: [{ host: options.host, port: 0 }] } : {}),
        },
      ],
    });
    // Miniflare's exit hook answers SIGINT/SIGTERM with process.exit(130/143) before the caller's own shutdown
    // (npm start stops the converter and the chunk server, and exits 0): its signal listeners go; its `exit`
    // listener, which takes workerd down with this process, stays.
    SIGNALS.forEach((signal, i) => {
      for (const listener of process.listeners(signal)) if (!signalListeners[i]!.has(listener)) process.off(signal, listener);
    });
    const workerUrl = new URL(await mf.ready);
    const upstream = direct ? await mf.unsafeGetDirectURL(config.name) : workerUrl;
    front = await startFront({
      host: options.host,
      port: options.port,
      upstreamPort: Number(upstream.port),
      ...(direct ? { cdnCgiPort: Number(workerUrl.port) } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      log: (line) => onLine(`[front] ${line}`, "error"),
      ...(typeof bindings.INTERNAL_SECRET === "string" && bindings.INTERNAL_SECRET ? { revalidationSecret: bindings.INTERNAL_SECRET } : {}),
    });
    const url = `${scheme}://${options.host}:${front.port}`;
    const triggerScheduled = async () => {
      const res = await mf!.dispatchFetch(`${workerUrl.origin}/cdn-cgi/handler/scheduled`);
      await res.arrayBuffer();
      return res.status;
    };
    if (options.fireCrons && config.crons.length > 0) {
      // Every minute, whatever the expressions say: the one cron (the job lease sweep) is "* * * * *".
      cron = setInterval(() => void triggerScheduled().catch((err: Error) => onLine(`scheduled handler: ${err.message}`, "error")), CRON_INTERVAL_MS);
      cron.unref();
    }
    return {
      url,
      port: front.port,
      workerUrl: upstream.origin,
      stats: { bundleBytes: bundle.bytes, bundleMs, bundleCached: bundle.cached, startMs: performance.now() - workerdStarted },
      triggerScheduled,
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
