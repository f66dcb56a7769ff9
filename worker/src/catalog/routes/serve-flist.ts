/**
 * Serving .flist bytes (docs/design.md §2.5): always a direct 200/206 streamed from R2 (Zero-OS nodes
 * cannot follow redirects), with Content-Length, ETag = quoted md5, Last-Modified, Range/206, 304 on
 * If-None-Match / If-Modified-Since, and an edge cache keyed by content: every name that resolves to the same
 * bytes shares one cache entry, stored under the immutable blob URL.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import type { BlobRow } from "../store/rows";
import { httpDate } from "../../time";
import { fail } from "../../http/respond";
import { catalogStore } from "../store/d1-r2";
import { countMemoryHit, edgeCache, wantsCold } from "../../cost/meter";
import { MAX_BYTES_ENTRY, type MemoryTier, memoryTier } from "../../edge/memory";

/** Content-addressed URL of a blob: its bytes can never change, so it is cacheable forever. */
export function blobPath(sha256: string): string {
  return `/api/blobs/${sha256}.flist`;
}

export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
/** Named URLs can be re-pointed at other bytes (upload, link, rename): caches must revalidate soon. */
export const CACHE_NAMED = "public, max-age=60";

export interface ServeOptions {
  /** Unix seconds: the file's time (named URL) or the blob's creation (blob URL). */
  lastModified: number;
  cacheControl: string;
  /** Reads the bytes (a range of them); null when the object is missing. Default: the catalog's .flist object. */
  open?: (range?: ByteRange) => Promise<ReadableStream | null>;
}

function etagOf(blob: BlobRow): string {
  return `"${blob.md5}"`;
}

function notModified(req: Request, etag: string, lastModified: number): boolean {
  const inm = req.headers.get("If-None-Match");
  if (inm !== null) {
    if (inm.trim() === "*") return true;
    return inm.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
  }
  const ims = req.headers.get("If-Modified-Since");
  if (ims !== null) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && lastModified * 1000 <= since;
  }
  return false;
}

/** A single `bytes=` range resolved against `size`; null = serve the whole file; "unsatisfiable" = 416. */
export type ByteRange = { offset: number; length: number };

export function parseRange(header: string | null, size: number): ByteRange | null | "unsatisfiable" {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or another unit: a 200 with the whole body is a valid answer (RFC 9110 §14.2).
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}

/** Streams `body` with a known length, so the runtime sends Content-Length instead of chunked encoding. */
function withLength(body: ReadableStream, length: number): ReadableStream {
  const fixed = new FixedLengthStream(length);
  void body.pipeTo(fixed.writable).catch(() => {
    // The client went away or R2 failed mid-stream; the response is already truncated, nothing to add.
  });
  return fixed.readable;
}

/**
 * A stream of the kept bytes as one chunk, not a copy: `new Response(bytes)` copies its body into the runtime, and
 * under load those 2 MB copies outran the collector (workerd's RSS grew past 1 GB in a catalog benchmark run).
 */
function streamOf(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function waitUntil(c: Context<AppEnv>, promise: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(promise);
  } catch {
    // No execution context (e.g. app.request in unit code): let the promise run on its own.
    void promise.catch(() => undefined);
  }
}

/**
 * `body`, and a copy of its bytes kept in the memory tier once read whole (when the tier is on and the file small
 * enough). The copy is a tee branch read in waitUntil: the client's stream is not held back for it.
 */
function remembered(c: Context<AppEnv>, memory: MemoryTier | null, blob: BlobRow, body: ReadableStream): ReadableStream {
  if (!memory || blob.size > MAX_BYTES_ENTRY) return body;
  const [out, copy] = body.tee();
  waitUntil(c, readExactly(copy, blob.size).then((bytes) => bytes && memory.putBytes(blob.sha256, bytes)));
  return out;
}

/** The stream's bytes if there are exactly `size` of them, else null (a short or long body is never kept). */
async function readExactly(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const out = new Uint8Array(size);
  const reader = stream.getReader();
  let at = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return at === size ? out : null;
      if (at + value.byteLength > size) {
        await reader.cancel();
        return null;
      }
      out.set(value, at);
      at += value.byteLength;
    }
  } catch {
    return null;
  }
}

export async function serveFlist(c: Context<AppEnv>, blob: BlobRow, options: ServeOptions): Promise<Response> {
  const open = options.open ?? ((range?: ByteRange) => catalogStore(c.env).flistBody(blob, range));
  const req = c.req.raw;
  const etag = etagOf(blob);
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    ETag: etag,
    "Last-Modified": httpDate(options.lastModified),
    "Cache-Control": options.cacheControl,
    "Accept-Ranges": "bytes",
    "X-Flist-Sha256": blob.sha256,
  });

  if (notModified(req, etag, options.lastModified)) {
    headers.delete("Content-Type");
    return new Response(null, { status: 304, headers });
  }

  const ifRange = req.headers.get("If-Range");
  const range = ifRange !== null && ifRange.trim() !== etag ? null : parseRange(req.headers.get("Range"), blob.size);
  if (range === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${blob.size}`);
    return new Response(null, { status: 416, headers });
  }

  // HEAD: everything is known from the catalog row, R2 is not touched.
  if (req.method === "HEAD") {
    headers.set("Content-Length", String(blob.size));
    return new Response(null, { status: 200, headers });
  }

  const cold = wantsCold(c.env, req);
  const memory = memoryTier(c.env);
  const inMemory = cold ? undefined : memory?.bytes(blob.sha256);
  if (inMemory) {
    countMemoryHit(c.env);
    if (range) {
      headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${blob.size}`);
      headers.set("Content-Length", String(range.length));
      return new Response(withLength(streamOf(inMemory.subarray(range.offset, range.offset + range.length)), range.length), { status: 206, headers });
    }
    headers.set("Content-Length", String(blob.size));
    return new Response(withLength(streamOf(inMemory), blob.size), { status: 200, headers });
  }

  const cache = edgeCache(c.env);
  const cacheKey = new Request(new URL(blobPath(blob.sha256), req.url).toString(), { method: "GET" });

  if (range) {
    // The edge cache answers a range of the bytes it holds with a 206 (docs/catalog-api.md "Edge cache"); else R2.
    const end = range.offset + range.length - 1;
    const cachedPart = cold ? undefined : await cache.match(new Request(cacheKey.url, { headers: { Range: `bytes=${range.offset}-${end}` } }));
    const part = cachedPart?.status === 206 && cachedPart.body ? cachedPart.body : await open(range);
    if (!part) return fail(c, 500, "flist missing from storage");
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${blob.size}`);
    headers.set("Content-Length", String(range.length));
    return new Response(withLength(part, range.length), { status: 206, headers });
  }

  headers.set("Content-Length", String(blob.size));
  const cached = cold ? undefined : await cache.match(cacheKey);
  if (cached?.body) return new Response(withLength(remembered(c, memory, blob, cached.body), blob.size), { status: 200, headers });

  const body = await open();
  if (!body) return fail(c, 500, "flist missing from storage");
  const [toClient, toCache] = remembered(c, memory, blob, body).tee();
  const cacheHeaders = new Headers(headers);
  cacheHeaders.set("Cache-Control", CACHE_IMMUTABLE);
  const toStore = new Response(withLength(toCache, blob.size), { status: 200, headers: cacheHeaders });
  waitUntil(c, cache.put(cacheKey, toStore));
  return new Response(withLength(toClient, blob.size), { status: 200, headers });
}
