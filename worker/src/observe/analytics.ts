/**
 * One Workers Analytics Engine data point per request (docs/operations.md "Request analytics"), written through
 * the `HUB_ANALYTICS` binding of wrangler.production.toml. `writeDataPoint` returns at once (the runtime sends it
 * after the answer), so nothing is awaited; without the binding (local runs, tests) nothing is written.
 *
 *   index1  the route pattern (`/api/flist/:repository`, never the path: names and tokens stay out)
 *   blob1   the route pattern, blob2 the method, blob3 the status class (`2xx`…), blob4 the cache state
 *   double1 the status, double2 the duration in milliseconds
 */
import type { Env } from "../env";

export interface RequestPoint {
  route: string;
  method: string;
  status: number;
  durationMs: number;
  /** `hit`, `miss`… when the answer says (`cf-cache-status`, `x-cache`); empty when unknown. */
  cache: string;
}

export function recordRequest(env: Env, point: RequestPoint): void {
  const dataset = env.HUB_ANALYTICS;
  if (!dataset) return;
  try {
    dataset.writeDataPoint({
      indexes: [point.route.slice(0, 96)],
      blobs: [point.route, point.method, `${Math.floor(point.status / 100)}xx`, point.cache],
      doubles: [point.status, point.durationMs],
    });
  } catch {
    // A counter must never cost a request its answer.
  }
}

/** The cache state an answer tells, lower case, or "". */
export function cacheState(headers: Headers): string {
  return (headers.get("cf-cache-status") ?? headers.get("x-cache") ?? "").toLowerCase().slice(0, 32);
}
