/**
 * Refused requests' bodies are read before the answer goes out. An HTTP/1.1 connection whose request body was not
 * read cannot carry the next request, and a server that closes it while the client is still sending makes the
 * client's TCP stack see a reset — often before it has read the answer (a 413 seen as ECONNRESET). In local dev
 * (wrangler/miniflare) the next request on the connection hangs instead (cloudflare/miniflare#577).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

/** The most a refused request's body is read for; a larger one is cancelled (its client may then see a reset). */
export const DRAIN_MAX = 64 * 1024 * 1024;

/** Reads what is left of a body (at most DRAIN_MAX bytes), then lets it go. */
export async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (let read = 0; read <= DRAIN_MAX; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.length;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to drain.
  }
}

/**
 * Once for the whole app (app.ts), in front of every route: when the answer is an error and the handler left the
 * body unread (refused on its headers, its name, its authentication, its declared size…), the body is drained
 * before the answer is sent. A route that reads a body itself drains what it stops reading (uploads/form.ts,
 * images/multipart.ts).
 */
export function drainRefused(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      await next();
    } finally {
      const body = c.req.raw.body;
      if (c.res.status >= 400 && body && !body.locked && !c.req.raw.bodyUsed) await drainReader(body.getReader());
    }
  };
}
