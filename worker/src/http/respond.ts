import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The original hub's API envelope: `{"status":"success","payload"?:…}` or
 * `{"status":"error","message":…}`. Every API error goes through `fail` so clients
 * (0-hub-gw, zflist) always find `status`.
 */
export function ok(c: Context, payload?: unknown, status: ContentfulStatusCode = 200): Response {
  const body = payload === undefined ? { status: "success" } : { status: "success", payload };
  return c.json(body, status);
}

export function fail(c: Context, status: ContentfulStatusCode, message: string): Response {
  return c.json({ status: "error", message }, status);
}
