/**
 * The edge cache's two settings (docs/catalog-api.md "Edge cache"): how long a public answer may be served from
 * `caches.default`, and the origin of its keys.
 */
import type { Env } from "../env";

export const DEFAULT_EDGE_SECONDS = 60;

/**
 * HUB_EDGE_CACHE_SECONDS, default 60: the bound on staleness after any catalog change. 60 s because named URLs
 * already answer `Cache-Control: public, max-age=60` (catalog/routes/serve-flist.ts), so clients and proxies may
 * already be that stale; the edge cache adds no new kind of delay. 0 turns the edge cache off.
 */
export function edgeSeconds(env: Partial<Pick<Env, "HUB_EDGE_CACHE_SECONDS">>): number {
  const raw = env.HUB_EDGE_CACHE_SECONDS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_EDGE_SECONDS;
  const seconds = Number(raw);
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : DEFAULT_EDGE_SECONDS;
}

/**
 * Keys live under HUB_PUBLIC_URL's origin (a host of the hub's zone in production), so two hubs in one zone never
 * share entries and a purge made while serving the converter's internal publish hits the same keys as the reads;
 * a hub without a public URL (local runs, tests) uses a fixed placeholder origin.
 */
export function edgeOrigin(env: Partial<Pick<Env, "HUB_PUBLIC_URL">>): string {
  const configured = (env.HUB_PUBLIC_URL ?? "").trim();
  if (configured) {
    try {
      return new URL(configured).origin;
    } catch {
      // An unparsable HUB_PUBLIC_URL: the placeholder below, still consistent between reads and purges.
    }
  }
  return "https://zos-hub.edge-cache.invalid";
}
