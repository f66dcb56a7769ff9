/**
 * Error pages in the site's look. The app's error handlers answer the JSON envelope everywhere (API clients
 * rely on it); for a browser navigating to a page (`Accept: text/html`, not under /api/, /internal/ or
 * /listen/) this middleware replaces such an error with an HTML page carrying the same status and message.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";
import { renderPage } from "./layout";

const MACHINE_PREFIXES = ["/api/", "/internal/", "/listen/", "/static/"];

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Sign-in required",
  403: "Not allowed",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Too large",
  500: "Something went wrong",
  502: "A service behind the hub is unavailable",
  503: "Temporarily unavailable",
};

/** Messages of the catalog that read better as a sentence on a page. */
const FRIENDLY: Record<string, string> = {
  "user not found": "There is no repository of that name.",
  "source not found": "There is no flist of that name in this repository.",
  "tag not found": "There is no tag of that name in this repository.",
  "not found": "There is nothing at this address.",
  "internal error": "The hub failed to answer this page. Try again in a moment.",
};

export function ErrorBody({ status, message }: { status: number; message: string }) {
  return (
    <section class="error-page">
      <p class="muted">Error {status}</p>
      <h1>{TITLES[status] ?? "Error"}</h1>
      <p>{FRIENDLY[message] ?? message}</p>
      <p>
        <a href="/">Repositories</a> · <a href="/search">Search</a>
      </p>
    </section>
  );
}

export function errorPage(c: Context<AppEnv>, status: number, message: string): Promise<Response> {
  return renderPage(
    c,
    { title: TITLES[status] ?? "Error" },
    <ErrorBody status={status} message={message} />,
    status as ContentfulStatusCode,
  );
}

function wantsPage(c: Context): boolean {
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.req.method !== "POST") return false;
  const path = new URL(c.req.url).pathname;
  if (MACHINE_PREFIXES.some((p) => path.startsWith(p))) return false;
  return (c.req.header("Accept") ?? "").toLowerCase().includes("text/html");
}

export function htmlErrors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (res.status < 400 || !wantsPage(c)) return;
    if (!(res.headers.get("Content-Type") ?? "").startsWith("application/json")) return;
    let message = "";
    try {
      const body = (await res.clone().json()) as { message?: unknown };
      message = typeof body.message === "string" ? body.message : "";
    } catch {
      return;
    }
    c.res = undefined as unknown as Response; // replace, not merge, the headers of the JSON answer
    c.res = await errorPage(c, res.status, message);
  };
}
