/**
 * The per-request cost header (docs/benchmarks.md "Per-request cost"): what the Worker counts for one request when
 * HUB_REQUEST_COST is "true", as Server-Timing metrics whose `desc` is a count (browser devtools show them next to
 * the timings). Written by cost/middleware.ts, read by bench/lib/request-cost.ts and the tests: no runtime globals,
 * so Node imports it too.
 */

export interface Cost {
  /** D1 round trips: a statement run alone, or a whole batch. */
  d1Queries: number;
  d1Statements: number;
  /** D1's `meta.rows_read`, summed. */
  d1RowsRead: number;
  d1RowsWritten: number;
  /** R2 calls (head, get, put, delete, list, multipart starts). */
  r2Ops: number;
  cacheHits: number;
  cacheMisses: number;
  /** Answers found in the isolate's memory tier (edge/memory.ts): no Cache API call either. */
  memoryHits: number;
  /** cache.put and cache.delete (a put made after the answer, in waitUntil, is not in the header). */
  cacheWrites: number;
}

export function emptyCost(): Cost {
  return { d1Queries: 0, d1Statements: 0, d1RowsRead: 0, d1RowsWritten: 0, r2Ops: 0, cacheHits: 0, cacheMisses: 0, memoryHits: 0, cacheWrites: 0 };
}

export const COST_HEADER = "Server-Timing";

const METRICS: [keyof Cost, string][] = [
  ["d1Queries", "d1-queries"],
  ["d1Statements", "d1-statements"],
  ["d1RowsRead", "d1-rows-read"],
  ["d1RowsWritten", "d1-rows-written"],
  ["r2Ops", "r2-ops"],
  ["cacheHits", "cache-hits"],
  ["cacheMisses", "cache-misses"],
  ["memoryHits", "memory-hits"],
  ["cacheWrites", "cache-writes"],
];

export function formatCost(cost: Cost): string {
  return METRICS.map(([key, name]) => `${name};desc="${cost[key]}"`).join(", ");
}

/** Reads a header written by formatCost back; null when it carries none of the metrics (metering off). */
export function parseCost(header: string | null): Cost | null {
  if (!header) return null;
  const cost = emptyCost();
  let found = false;
  for (const [key, name] of METRICS) {
    const match = new RegExp(`(?:^|,)\\s*${name};desc="(\\d+)"`).exec(header);
    if (match) {
      cost[key] = Number(match[1]);
      found = true;
    }
  }
  return found ? cost : null;
}
