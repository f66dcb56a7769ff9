import type { MiddlewareHandler } from "hono";
import { setAnswerHeader } from "../answer-headers";

/** Methods and headers browsers may use against the hub (preflight answer). */
const ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS =
  "Authorization, Content-Type, Range, If-None-Match, X-Original-Name, X-Hub-Repository, Prefer, Last-Event-ID";

/**
 * `Access-Control-Allow-Origin: *` on every response, as the original hub (the grid dashboard fetches
 * `.md5` from the browser), and a generic answer to CORS preflights. Credentials are never allowed:
 * the API authenticates with the Authorization header only.
 */
export function cors(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": "*",
          "Access-Control-Allow-Methods": ALLOW_METHODS,
          "Access-Control-Allow-Headers": ALLOW_HEADERS,
          "Access-Control-Max-Age": "86400",
        },
      });
    }
    await next();
    setAnswerHeader(c, "Access-Control-Allow-Origin", "*");
    c.res.headers.append(
      "Access-Control-Expose-Headers",
      "ETag, Content-Length, Content-Range, X-Flist-Sha256, Location, X-Hub-Job, Preference-Applied, X-Request-Id",
    );
  };
}
