/**
 * HTTP helpers of the converter's Hono app (app.ts): JSON answers in the hub's envelope, the request body as a
 * Node stream, bounded request bodies.
 */
import { Readable } from "node:stream";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The app's environment: the Node request and response under `@hono/node-server`, absent under `app.request()`. */
export interface ServiceEnv {
  Bindings: Partial<HttpBindings>;
}

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `body` as JSON with `Content-Type: application/json` and its Content-Length (kept by answers to HEAD too). */
export function json(c: Context, status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = JSON.stringify(body);
  return c.body(text, status as ContentfulStatusCode, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
}

export function errorJson(c: Context, status: number, message: string): Response {
  return json(c, status, { status: "error", message });
}

/**
 * The request body as a Node stream, never buffered: the Node request itself under the Node adapter (it reads
 * the body only when asked to), else the Request's body.
 */
export function nodeBody(c: Context<ServiceEnv>): Readable {
  const incoming = c.env?.incoming;
  if (incoming) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>) : Readable.from([]);
}

/** Reads the rest of the request body and drops it, so the connection can carry the answer. */
export function drainBody(c: Context<ServiceEnv>): void {
  if (c.env?.incoming) c.env.incoming.resume();
  else void c.req.raw.body?.cancel().catch(() => undefined);
}

/**
 * The request body, refused with 413 past `limit` bytes: by Content-Length before reading anything, else while
 * reading (chunked bodies). Small bodies only (JSON, one chunk): callers choose the limit.
 */
export function readBody(c: Context<ServiceEnv>, limit: number): Promise<Buffer> {
  const req = nodeBody(c);
  return new Promise((resolve, reject) => {
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > limit) {
      req.resume(); // drain, so the connection can carry the 413
      reject(new HttpError(413, `request body over ${limit} bytes`));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        parts.length = 0;
        reject(new HttpError(413, `request body over ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(parts, size));
    });
    req.on("error", (err) => reject(new HttpError(400, `request body: ${err.message}`)));
  });
}

export async function readJson(c: Context<ServiceEnv>, limit: number): Promise<unknown> {
  const body = await readBody(c, limit);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}
