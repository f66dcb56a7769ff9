/**
 * The dependency checks of `GET /health?deep=1` (docs/operations.md "Converter health checks"): the chunk store answers a
 * cheap call (one EXISTS through the store interface, on the shared store) and the hub answers a HEAD of its
 * `/api/health`, each within a short timeout. Plain `GET /health` stays liveness only (app.ts): the local
 * runtime's start-up and the container's HEALTHCHECK wait on it, and a store that is down must neither hold
 * `npm start` nor get a healthy converter restarted (a restart does not bring the store back).
 */
import { redactUrl, type ChunkStore } from "../store/index.ts";
import { scrub } from "./errors.ts";

export interface CheckResult {
  ok: boolean;
  ms: number;
  /** Why it failed, secrets and store passwords removed. */
  error?: string;
}

export interface HealthReport {
  status: "ok" | "error";
  checks: Record<string, CheckResult>;
}

export interface HealthDeps {
  store: () => Promise<ChunkStore>;
  /** The hub's base URL; no hub check without it. */
  hubUrl?: string;
  secrets: readonly string[];
  /** Per check (default 2000 ms): a hung dependency answers 503 quickly instead of holding the probe. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A key no chunk has (chunk keys are 16 or 32 bytes): asking for it touches the store and nothing else. */
const PROBE_KEY = new TextEncoder().encode("zos-hub-health-probe");

/** fetch's own message is "fetch failed": the cause says what (ECONNREFUSED, a name that does not resolve). */
function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  if (e?.message === "fetch failed" && e.cause) return `unreachable (${e.cause.code ?? e.cause.message ?? "fetch failed"})`;
  return e?.message ?? String(err);
}

async function timed(timeoutMs: number, what: string, secrets: readonly string[], check: (signal: AbortSignal) => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what} did not answer within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    await Promise.race([check(controller.signal), timeout]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: scrub(describe(err), secrets) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const timeoutMs = deps.timeoutMs ?? 2000;
  const doFetch = deps.fetch ?? fetch;
  const pending: [string, Promise<CheckResult>][] = [
    // Opening the store (first use) checks it answers; StoreError messages name the redacted address only.
    ["chunkStore", timed(timeoutMs, "the chunk store", deps.secrets, async () => void (await (await deps.store()).exists([PROBE_KEY])))],
  ];
  if (deps.hubUrl) {
    const hubUrl = deps.hubUrl;
    const shown = redactUrl(hubUrl);
    pending.push([
      "hub",
      timed(timeoutMs, "the hub", deps.secrets, async (signal) => {
        // Any answer below 500 means the Worker is there (the body is not needed: HEAD).
        const res = await doFetch(`${hubUrl}/api/health`, { method: "HEAD", signal, redirect: "manual" });
        if (res.status >= 500) throw new Error(`answered ${res.status}`);
      }).then((r) => (r.ok ? r : { ...r, error: `hub ${shown}: ${r.error ?? "failed"}` })),
    ]);
  }
  const checks: Record<string, CheckResult> = {};
  for (const [name, result] of pending) checks[name] = await result;
  return { status: Object.values(checks).every((c) => c.ok) ? "ok" : "error", checks };
}
