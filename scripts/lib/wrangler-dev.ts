/**
 * `npm run dev`: the Worker under `wrangler dev` instead of the lean runtime (scripts/lib/runtime.ts), for its
 * debugging conveniences: the inspector (chrome://inspect, wrangler's default port 9229), live reload when a source
 * file changes, and its request lines. Same state layout (`.wrangler/state/v3`), same front before it
 * (scripts/lib/front.ts), the cron fired every minute (wrangler dev announces crons but never fires them), and the
 * same Runtime interface, so scripts/start.ts runs either.
 */
import { ROOT } from "./devvars.ts";
import { type Front, startFront } from "./front.ts";
import { type Child, WRANGLER, freePort, startChild, waitForHttp, wranglerEnv } from "./processes.ts";
import type { Runtime, RuntimeOptions } from "./runtime.ts";

const READY_TIMEOUT_MS = 180_000;
const CRON_INTERVAL_MS = 60_000;

/** wrangler dev's arguments for these options (the Worker on `workerPort`, wrangler.toml of the checkout). */
export function wranglerDevArgs(options: RuntimeOptions, workerPort: number): string[] {
  return [
    "dev",
    "--local",
    "--ip", options.host,
    "--port", String(workerPort),
    ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    "--show-interactive-dev-session=false",
    // Request lines only when asked (HUB_LOG=verbose): wrangler's own default level (or $WRANGLER_LOG).
    ...(options.requestLines ? [] : ["--log-level", "warn"]),
    ...(options.persistDir ? ["--persist-to", options.persistDir] : []),
  ];
}

export async function startWranglerDev(options: RuntimeOptions, onExit: (reason: string) => void): Promise<Runtime> {
  const onLine = options.onLine ?? (() => undefined);
  const started = performance.now();
  await options.before;
  const workerPort = await freePort(options.host);
  // Own process group, so that stopping takes wrangler's workerd children down with it.
  const dev: Child = startChild(WRANGLER, wranglerDevArgs(options, workerPort), {
    cwd: ROOT,
    env: wranglerEnv(),
    group: true,
    onLine: (line) => onLine(line, "stderr"),
  });
  let front: Front | undefined;
  let cron: NodeJS.Timeout | undefined;
  let closing = false;
  void dev.exited.then(({ code, signal }) => {
    if (!closing) onExit(`wrangler dev exited (${code ?? signal})`);
  });
  const close = async () => {
    closing = true;
    if (cron) clearInterval(cron);
    await front?.close();
    await dev.stop("SIGTERM", 10_000);
  };
  try {
    // Any HTTP answer means the Worker is up; the path does not matter.
    await waitForHttp(`http://${options.host}:${workerPort}/api/flist/me`, dev, "wrangler dev", READY_TIMEOUT_MS);
    front = await startFront({ host: options.host, port: options.port, upstreamPort: workerPort, log: (line) => onLine(`[front] ${line}`, "error") });
  } catch (err) {
    await close();
    throw err;
  }
  const url = `http://${options.host}:${front.port}`;
  const triggerScheduled = async () => {
    const res = await fetch(`${url}/cdn-cgi/handler/scheduled`, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    return res.status;
  };
  if (options.fireCrons) {
    cron = setInterval(() => void triggerScheduled().catch(() => undefined), CRON_INTERVAL_MS);
    cron.unref();
  }
  return {
    url,
    port: front.port,
    workerUrl: `http://${options.host}:${workerPort}`,
    stats: { bundleBytes: 0, bundleMs: 0, bundleCached: false, startMs: performance.now() - started },
    triggerScheduled,
    close,
  };
}
