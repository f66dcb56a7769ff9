/**
 * Per-request cost of routes of a running hub (docs/benchmarks.md "Per-request cost"): for each route, one cold
 * read (`Cache-Control: no-cache`, which a hub with HUB_REQUEST_COST=true answers without its edge cache) and one
 * warm read (normal, after the cold one stored its answer), each with the D1 round trips and statements, D1 rows
 * read, R2 calls and edge cache hits/misses the Worker counted (the Server-Timing header, worker/src/cost/header.ts).
 * Prints a table; throws if the hub does not send the header (started without HUB_REQUEST_COST=true).
 */
import { COST_HEADER, parseCost, type Cost } from "../../worker/src/cost/header.ts";

export interface RouteCost {
  route: string;
  status: [cold: number, warm: number];
  cold: Cost;
  warm: Cost;
}

async function costOf(url: string, cold: boolean): Promise<{ status: number; cost: Cost }> {
  const res = await fetch(url, { headers: cold ? { "Cache-Control": "no-cache" } : {} });
  await res.arrayBuffer();
  const cost = parseCost(res.headers.get(COST_HEADER));
  if (!cost) throw new Error(`${url}: no per-request cost in the answer; start the hub with HUB_REQUEST_COST=true`);
  return { status: res.status, cost };
}

/** The cache put of a miss happens after the answer (waitUntil): retry the warm read a little until it hits. */
async function warmCost(url: string): Promise<{ status: number; cost: Cost }> {
  let last = await costOf(url, false);
  for (let i = 0; i < 20 && last.cost.cacheMisses > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    last = await costOf(url, false);
  }
  return last;
}

export async function measureRequestCost(baseUrl: string, routes: string[]): Promise<RouteCost[]> {
  const out: RouteCost[] = [];
  for (const route of routes) {
    const url = `${baseUrl.replace(/\/+$/, "")}${route}`;
    const cold = await costOf(url, true);
    const warm = await warmCost(url);
    out.push({ route, status: [cold.status, warm.status], cold: cold.cost, warm: warm.cost });
  }
  return out;
}

function cells(c: Cost): string[] {
  return [`${c.d1Queries}/${c.d1Statements}`, String(c.d1RowsRead), String(c.r2Ops), `${c.cacheHits}/${c.cacheMisses}`, String(c.memoryHits)];
}

export function formatRequestCost(rows: RouteCost[]): string {
  const header = ["route", "status", "cold D1 q/stmt", "rows read", "R2", "cache hit/miss", "memory", "warm D1 q/stmt", "rows read", "R2", "cache hit/miss", "memory"];
  const table = [
    header,
    ...rows.map((r) => [r.route, r.status.join("/"), ...cells(r.cold), ...cells(r.warm)]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

/** Measures and prints the table for `routes` of the hub at `baseUrl`. */
export async function printRequestCost(baseUrl: string, routes: string[]): Promise<RouteCost[]> {
  const rows = await measureRequestCost(baseUrl, routes);
  console.log("Per-request cost (cold: edge cache skipped; warm: the next read; memory: hits in the isolate's memory tier):");
  console.log(formatRequestCost(rows));
  return rows;
}
