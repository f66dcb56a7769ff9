/**
 * Every request's observability (docs/operations.md "Logs", "Request analytics"): its request id (request-id.ts)
 * in the context of everything that runs for it (context.ts) and in the `x-request-id` answer header, one log
 * line when it is answered, and one Analytics Engine data point. The duration is to the answer's headers: a
 * streamed body (a download) goes on after it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { REQUEST_ID_HEADER } from "../../../protocol/logging";
import type { AppEnv } from "../env";
import { setAnswerHeader } from "../answer-headers";
import { cacheState, recordRequest } from "./analytics";
import { withContext } from "./context";
import { log, logLevelOf } from "./log";
import { requestIdOf } from "./request-id";

/** The pattern of the route that answered (`/:repository/:file`), never the path; catch-alls say "(other)". */
function answeringRoute(c: Context): string {
  try {
    const route = routePath(c);
    return route && !route.endsWith("*") ? route : "(other)";
  } catch {
    return "(other)";
  }
}

export function observe(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const requestId = requestIdOf(c.req.raw.headers);
    c.set("requestId", requestId);
    await withContext({ requestId, level: logLevelOf(c.env?.HUB_LOG_LEVEL) }, async () => {
      await next();
      const status = c.res.status;
      const route = answeringRoute(c);
      const durationMs = Date.now() - started;
      // The path through redaction (protocol/logging.ts): `/token/<token>` and `?token=` never reach the line.
      const line = { method: c.req.method, route, path: new URL(c.req.url).pathname, status, duration_ms: durationMs };
      if (status >= 500) log.error("request answered", line);
      else log.info("request answered", line);
      if (c.env) recordRequest(c.env, { route, method: c.req.method, status, durationMs, cache: cacheState(c.res.headers) });
    });
    setAnswerHeader(c, REQUEST_ID_HEADER, requestId);
  };
}
