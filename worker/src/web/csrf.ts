/**
 * CSRF protection of the website's state-changing forms (synchronizer token): every session carries a random
 * token (session.ts); forms embed it with csrfInput(c), scripts send it as the `X-CSRF-Token` header, and
 * requireCsrf() refuses any POST/PUT/PATCH/DELETE that does not carry the session's token, with a 403 page.
 * SameSite=Lax on the session cookie is a second line, not the defence.
 *
 * The API (`/api/flist/me/*`) needs none of this: it authenticates by the Authorization header only.
 */
import type { Context, MiddlewareHandler } from "hono";
import { jsx } from "hono/jsx";
import { safeEqual } from "../auth/cookie-keys";
import type { AppEnv } from "../env";
import { loadSession, sessionOf, signInUrl } from "./session";
import { page } from "./signin/page";

export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/** The current session's CSRF token (after requireSession() or an awaited loadSession()). */
export function csrfToken(c: Context<AppEnv>): string {
  return sessionOf(c).csrf;
}

/** `<input type="hidden" name="_csrf" value="…">` for a form of the signed-in user. */
export function csrfInput(c: Context<AppEnv>) {
  return jsx("input", { type: "hidden", name: CSRF_FIELD, value: csrfToken(c) });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The 403 answer: a readable page in the site's look (browsers post these forms). */
export function forbiddenPage(c: Context<AppEnv>, message: string, signIn?: string): Promise<Response> {
  const body = jsx("section", { class: "error-page" }, [
    jsx("p", { class: "muted" }, ["Error 403"]),
    jsx("h1", {}, ["Request refused"]),
    jsx("p", { class: "alert", id: "csrf-refused" }, [message]),
    signIn
      ? jsx("p", {}, [jsx("a", { href: signIn }, ["Sign in again"])])
      : jsx("p", {}, ["Go back, reload the page and try again."]),
  ]);
  return page(c, { title: "Request refused" }, body, 403);
}

async function submittedToken(c: Context<AppEnv>): Promise<string | null> {
  const header = c.req.header(CSRF_HEADER);
  if (header) return header;
  const type = (c.req.header("Content-Type") ?? "").toLowerCase();
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data")) return null;
  try {
    // Hono caches the parsed body, so the handler can read the form again.
    const body = await c.req.parseBody();
    const value = body[CSRF_FIELD];
    return typeof value === "string" ? value : null;
  } catch {
    return null;
  }
}

/** Refuses a state-changing request without the session's CSRF token (403 page). Safe methods pass. */
export function requireCsrf(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const session = await loadSession(c);
    if (!session) {
      const path = new URL(c.req.url).pathname;
      return forbiddenPage(
        c,
        "You are not signed in (or your session has expired), so this form was not accepted.",
        signInUrl(path),
      );
    }
    const token = await submittedToken(c);
    if (!token || !safeEqual(token, session.csrf)) {
      return forbiddenPage(
        c,
        "This form was not accepted: it did not carry this session's security token (CSRF). It may have been " +
          "sent by another site, or from a page opened before you signed in again.",
      );
    }
    await next();
  };
}
