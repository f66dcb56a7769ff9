/**
 * The dependency checks of the Worker's `GET /health` (docs/operations.md "Worker health check"): D1 answers a trivial
 * query, R2 lists one key, the converter answers its own `GET /health`. Each has a short timeout, so a hung
 * dependency makes the probe answer 503 quickly; an error says what failed in a few words, never an address or a
 * credential (the converter's URL may be an internal one).
 */
import type { Env } from "../env";
import { converterFetch } from "../jobs/converter";

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface HealthReport {
  status: "ok" | "error";
  checks: { d1: CheckResult; r2: CheckResult; converter: CheckResult };
}

const TIMEOUT_MS = 3000;

/** A short reason: the error's own class of failure, cut, without anything URL-shaped. */
function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)"'<>]+/gi, "<address>").slice(0, 200) || "failed";
}

async function timed(what: string, check: (signal: AbortSignal) => Promise<void>): Promise<CheckResult> {
  const started = Date.now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what} did not answer within ${TIMEOUT_MS} ms`);
      controller.abort(err);
      reject(err);
    }, TIMEOUT_MS);
  });
  try {
    await Promise.race([check(controller.signal), timeout]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: reasonOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(env: Env): Promise<HealthReport> {
  const [d1, r2, converter] = await Promise.all([
    timed("D1", async () => {
      await env.DB.prepare("SELECT 1").first();
    }),
    timed("R2", async () => {
      await env.FLISTS.list({ limit: 1 });
    }),
    timed("the converter", async (signal) => {
      let res: Response;
      try {
        res = await converterFetch(env, "/health", { method: "GET", signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        // fetch's message may name the converter's address: only say it could not be reached.
        throw new Error(`unreachable (${err instanceof Error ? err.name : "error"})`);
      }
      await res.body?.cancel();
      if (!res.ok) throw new Error(`answered ${res.status}`);
    }),
  ]);
  const checks = { d1, r2, converter };
  return { status: Object.values(checks).every((c) => c.ok) ? "ok" : "error", checks };
}
