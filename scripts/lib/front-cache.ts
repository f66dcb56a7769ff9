/**
 * The local front's revalidating cache (scripts/lib/front.ts; docs/benchmarks.md "Catalog", "The 2 MB download"):
 * the bodies of small public downloads, kept so that a repeated download costs the Worker a 304 instead of writing
 * the whole body over loopback to the front, which reads it again. Every request still reaches the Worker, with
 * `If-None-Match: <the kept ETag>`: the Worker decides, so the cache can never answer anything the Worker would
 * not (RFC 9111 §4.3, what nginx's `proxy_cache_revalidate` does). A 200 replaces the entry.
 *
 * Only what a shared cache may keep: GET without Range, conditionals, Authorization, Cookie or `no-cache`; a 200 with a strong
 * ETag, a Content-Length up to MAX_ENTRY, `Cache-Control: public`, no Set-Cookie, no Vary.
 */
import type http from "node:http";

export const MAX_ENTRY = 4 * 1024 * 1024;
export const DEFAULT_BUDGET = 64 * 1024 * 1024;

/** Tells the Worker a 304 answers the front's revalidation (a download to count); its value is INTERNAL_SECRET. */
export { FRONT_REVALIDATION_HEADER as REVALIDATION_HEADER } from "../../protocol/front-revalidation.ts";

export interface CachedAnswer {
  etag: string;
  statusMessage: string | undefined;
  /** Raw header pairs of the 200 (hop-by-hop ones already removed). */
  headers: string[];
  body: Buffer;
}

const REQUEST_BLOCKERS = ["range", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "authorization", "cookie"];

export function cacheableRequest(req: http.IncomingMessage): boolean {
  // `no-cache` asks for an answer made anew (the benchmark's cold reads, bench/lib/request-cost.ts): relayed whole.
  const control = `${req.headers["cache-control"] ?? ""} ${req.headers.pragma ?? ""}`;
  return req.method === "GET" && REQUEST_BLOCKERS.every((h) => req.headers[h] === undefined) && !/\bno-(cache|store)\b/i.test(control);
}

/** The ETag and length of a response the cache may keep, else null. */
export function cacheableAnswer(answer: http.IncomingMessage): { etag: string; length: number } | null {
  const etag = answer.headers.etag;
  const length = Number(answer.headers["content-length"]);
  const control = String(answer.headers["cache-control"] ?? "").toLowerCase();
  if (answer.statusCode !== 200 || !etag || etag.startsWith("W/")) return null;
  if (!Number.isInteger(length) || length > MAX_ENTRY) return null;
  if (!/\bpublic\b/.test(control) || /\b(no-store|private|no-cache)\b/.test(control)) return null;
  if (answer.headers["set-cookie"] !== undefined || answer.headers.vary !== undefined) return null;
  return { etag, length };
}

/**
 * A 200 for the client from a kept answer and the Worker's 304: the 304's headers replace the kept ones of the
 * same name (RFC 9111 §3.2: Date, ETag, Cache-Control, the request id, Server-Timing…), the body is the kept one.
 */
export function refreshedHeaders(kept: string[], notModified: string[]): string[] {
  const fresh = new Set<string>();
  for (let i = 0; i + 1 < notModified.length; i += 2) fresh.add(notModified[i]!.toLowerCase());
  fresh.delete("content-length"); // a 304's would describe no body
  const out: string[] = [];
  for (let i = 0; i + 1 < kept.length; i += 2) if (!fresh.has(kept[i]!.toLowerCase())) out.push(kept[i]!, kept[i + 1]!);
  for (let i = 0; i + 1 < notModified.length; i += 2) {
    if (fresh.has(notModified[i]!.toLowerCase())) out.push(notModified[i]!, notModified[i + 1]!);
  }
  return out;
}

/** Answers by URL, least recently used first out once `budget` bytes are held. */
export class FrontCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private used = 0;

  constructor(private readonly budget = DEFAULT_BUDGET) {}

  get(url: string): CachedAnswer | undefined {
    const entry = this.entries.get(url);
    if (entry) {
      this.entries.delete(url);
      this.entries.set(url, entry);
    }
    return entry;
  }

  set(url: string, entry: CachedAnswer): void {
    this.delete(url);
    if (entry.body.length > this.budget) return;
    this.entries.set(url, entry);
    this.used += entry.body.length;
    for (const [key, old] of this.entries) {
      if (this.used <= this.budget) break;
      this.entries.delete(key);
      this.used -= old.body.length;
    }
  }

  delete(url: string): void {
    const entry = this.entries.get(url);
    if (!entry) return;
    this.entries.delete(url);
    this.used -= entry.body.length;
  }
}
