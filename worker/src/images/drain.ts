/** Draining refused requests' bodies (see multipart.ts drainReader for why). */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { drainReader } from "./multipart";

/**
 * Before the auth middleware on every route with a body: a refused request's unread body is drained (bounded,
 * multipart.ts drainReader), so the client's connection stays usable (local dev otherwise hangs the next request).
 */
export function drainRefused(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      await next();
    } finally {
      const body = c.req.raw.body;
      if (c.res.status >= 400 && body && !body.locked) await drainReader(body.getReader());
    }
  };
}
