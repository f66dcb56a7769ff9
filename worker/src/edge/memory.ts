/**
 * The edge cache's first tier (docs/catalog-api.md "Edge cache"): answers kept in this isolate's memory, in front of
 * `caches.default`. A hit costs no Cache API call either: on the local runtime a Cache API hit goes through
 * Miniflare's cache simulator (more JavaScript, a SQLite row and a file read per request), and in production it is a
 * round trip to the data centre's cache. Two kinds of entries, one byte budget (HUB_MEMORY_CACHE_MB, 0 = off):
 *
 *  - answers under an edge key (edge/keys.ts): kept at most TEXT_TTL_MS, and never past the Cache API entry they
 *    were read from, so the staleness bound stays HUB_EDGE_CACHE_SECONDS; the purge (catalog/store/edge-purge.ts)
 *    deletes them in the isolate that made the change, and other isolates drop them within TEXT_TTL_MS;
 *  - .flist bytes under their sha256: content-addressed, they never go stale; only the budget evicts them.
 *
 * Least recently used entries go first (a Map keeps insertion order; a hit moves its entry to the end).
 */
import type { Env } from "../env";

/** How long another isolate of the data centre that made a change may still answer from its memory. */
export const TEXT_TTL_MS = 1000;
/** Larger .flist files are not kept (each stays in the Cache API): a few popular images should not evict the rest. */
export const MAX_BYTES_ENTRY = 4 * 1024 * 1024;

interface Entry<T> {
  value: T;
  size: number;
  /** ms since the epoch; Infinity for content-addressed bytes. */
  expires: number;
}

export class MemoryTier {
  private readonly entries = new Map<string, Entry<string | Uint8Array<ArrayBuffer>>>();
  private used = 0;

  constructor(private budget: number) {}

  resize(budget: number): void {
    this.budget = budget;
    this.evict();
  }

  text(key: string, now = Date.now()): string | undefined {
    const value = this.get(`t:${key}`, now);
    return typeof value === "string" ? value : undefined;
  }

  /** Keeps `text` until `notAfter` at the latest (the Cache API entry's own expiry), and TEXT_TTL_MS at most. */
  putText(key: string, text: string, notAfter = Infinity, now = Date.now()): void {
    // Two bytes per UTF-16 code unit: what V8 may hold for a non-Latin-1 string, an upper bound either way.
    this.put(`t:${key}`, text, text.length * 2, Math.min(now + TEXT_TTL_MS, notAfter));
  }

  bytes(sha256: string): Uint8Array<ArrayBuffer> | undefined {
    const value = this.get(`b:${sha256}`, Date.now());
    return value instanceof Uint8Array ? value : undefined;
  }

  putBytes(sha256: string, bytes: Uint8Array<ArrayBuffer>): void {
    if (bytes.byteLength <= MAX_BYTES_ENTRY) this.put(`b:${sha256}`, bytes, bytes.byteLength, Infinity);
  }

  /** Forgets the answers under these edge keys (the purge of a catalog write). */
  deleteTexts(keys: Iterable<string>): void {
    for (const key of keys) this.remove(`t:${key}`);
  }

  get size(): number {
    return this.used;
  }

  private get(key: string, now: number): string | Uint8Array<ArrayBuffer> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.remove(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  private put(key: string, value: string | Uint8Array<ArrayBuffer>, size: number, expires: number): void {
    this.remove(key);
    if (size > this.budget) return;
    this.entries.set(key, { value, size, expires });
    this.used += size;
    this.evict();
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.used -= entry.size;
  }

  private evict(): void {
    for (const [key] of this.entries) {
      if (this.used <= this.budget) return;
      this.remove(key);
    }
  }
}

/** HUB_MEMORY_CACHE_MB as bytes: unset, empty, 0 or not a number = off. */
export function memoryBudget(env: Partial<Pick<Env, "HUB_MEMORY_CACHE_MB">>): number {
  const mb = Number((env.HUB_MEMORY_CACHE_MB ?? "").trim() || "0");
  return Number.isFinite(mb) && mb > 0 ? Math.floor(mb * 1024 * 1024) : 0;
}

let tier: MemoryTier | undefined;

/** This isolate's memory tier, or null when HUB_MEMORY_CACHE_MB turns it off. */
export function memoryTier(env: Partial<Pick<Env, "HUB_MEMORY_CACHE_MB">>): MemoryTier | null {
  const budget = memoryBudget(env);
  if (budget === 0) return null;
  if (!tier) tier = new MemoryTier(budget);
  else tier.resize(budget);
  return tier;
}
