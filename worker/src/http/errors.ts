import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { redactSecrets } from "../../../protocol/redact";
import { log } from "../observe/log";
import { fail } from "./respond";

/**
 * An expected failure with the status and message the client should see (bad name, missing source, …).
 * Services throw it; the app's error handler turns it into the JSON error envelope, so no route ever
 * answers an HTML error page (the original did on several API routes).
 */
export class HubError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
    this.name = "HubError";
  }
}

/** The matched route's pattern (`/token/:token`), never the path itself. */
function routeOf(c: Context): string {
  try {
    return c.req.routePath || "(no route)";
  } catch {
    return "(no route)";
  }
}

export const notFound: NotFoundHandler = (c) => fail(c, 404, "not found");

export const onError: ErrorHandler = (err, c: Context) => {
  if (err instanceof HubError) return fail(c, err.status, err.message);
  // Unexpected: log the route and the error only. Never the URL (`/token/<token>`, `?token=`) nor the headers
  // (Authorization): a token must never reach a log.
  log.error("unhandled error", { method: c.req.method, route: routeOf(c), error: redactSecrets(String(err)) });
  return fail(c, 500, "internal error");
};
