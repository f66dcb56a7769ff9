/**
 * A header on the answer a middleware is wrapping. Answers that come straight from fetch() or the Cache API have
 * immutable headers: those are copied into a new Response once, then changed (http/cors.ts, observe/, cost/). At
 * the top of worker/src, beside time.ts: both http/ and observe/ use it, and observe/ is below http/ (errors.ts logs).
 */
import type { Context } from "hono";

export function setAnswerHeader(c: Context, name: string, value: string, mode: "set" | "append" = "set"): void {
  try {
    c.res.headers[mode](name, value);
  } catch {
    const res = new Response(c.res.body, c.res);
    res.headers[mode](name, value);
    c.res = res;
  }
}
