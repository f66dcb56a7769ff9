/**
 * Website sessions: a signed (HS256, jose), HttpOnly, Secure, SameSite=Lax cookie holding the user, the
 * acting repository and the session's CSRF token, with an expiry. The signing key is derived from
 * HUB_SIGNING_SEED (auth/cookie-keys.ts), so no extra secret is needed.
 *
 * The API never reads this cookie: `/api/flist/me/*` authenticates by the `Authorization` header only
 * (auth/middleware.ts), so a browser session cannot be used cross-site against the API.
 *
 * Contract for pages:
 *   getSession(c)        the signed-in session or null (one D1 query per request, cached per request)
 *   requireSession()     middleware: redirects to /login-method?next=… when nobody is signed in
 *   sessionOf(c)         the session loaded by requireSession()/getSession(), synchronously (throws otherwise)
 *   csrfInput(c), requireCsrf()  in ./csrf.ts
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { SignJWT, jwtVerify } from "jose";
import { z } from "zod";
import { cookieKey, randomToken } from "../auth/cookie-keys";
import { listRepositoriesOf } from "../auth/store";
import { sessionMaxAge } from "../auth/web-config";
import { repositoryProblem } from "../names";
import type { AppEnv } from "../env";

export const SESSION_COOKIE = "hub_session";
const ISSUER = "zos-hub";
const AUDIENCE = "zos-hub/web-session";

export interface Session {
  /** The signed-in user (ThreeFold Connect double name, e.g. `alice.3bot`). */
  user: string;
  /** The repository the user acts for on the website ("me"): the user or one of its organisations. */
  repository: string;
  /** Every repository the user may act for, the user first. */
  repositories: string[];
  /** This session's CSRF token (hidden `_csrf` field or `X-CSRF-Token` header on state-changing requests). */
  csrf: string;
  /** Unix seconds at which the session ends. */
  expires: number;
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  repo: z.string().min(1),
  csrf: z.string().min(16),
  iat: z.number().int(),
  exp: z.number().int(),
});

// Per request: pages call getSession() from several places (layout, middleware, handler).
const loaded = new WeakMap<Request, Promise<Session | null>>();

async function readSession(c: Context<AppEnv>): Promise<Session | null> {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return null;
  let claims: z.infer<typeof claimsSchema>;
  try {
    const key = await cookieKey(c.env.HUB_SIGNING_SEED, "web-session-v1");
    const { payload } = await jwtVerify(cookie, key, { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE });
    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) return null;
    claims = parsed.data;
  } catch {
    // Expired, tampered, signed with another seed or malformed: simply not signed in.
    return null;
  }
  // The website acts as this user: one the repository rule refuses (a session older than the rule) is signed out.
  if (repositoryProblem(claims.sub)) return null;
  // One round trip: the user's "not before" (revoke-all also ends website sessions) and memberships.
  const [notBefore, memberships] = await c.env.DB.batch<{ not_before?: number; repository?: string }>([
    c.env.DB.prepare(`SELECT not_before FROM auth_not_before WHERE user = ?1`).bind(claims.sub),
    c.env.DB.prepare(`SELECT repository FROM auth_memberships WHERE user = ?1 ORDER BY repository`).bind(claims.sub),
  ]);
  const nb = notBefore?.results[0]?.not_before;
  if (typeof nb === "number" && claims.iat <= nb) return null;
  const member = (memberships?.results ?? [])
    .map((r) => r.repository)
    .filter((r): r is string => !!r && r !== claims.sub && !repositoryProblem(r));
  const repositories = [claims.sub, ...member];
  // A membership removed after sign-in takes effect at once: fall back to acting as oneself.
  const repository = repositories.includes(claims.repo) ? claims.repo : claims.sub;
  return { user: claims.sub, repository, repositories, csrf: claims.csrf, expires: claims.exp };
}

/** The signed-in session, or null. */
export function getSession(c: Context<AppEnv>): Promise<Session | null> {
  let session = loaded.get(c.req.raw);
  if (!session) {
    session = readSession(c);
    loaded.set(c.req.raw, session);
  }
  return session;
}

const settled = new WeakMap<Request, Session | null>();

/** The session already loaded for this request (after requireSession() or an awaited getSession()). */
export function sessionOf(c: Context<AppEnv>): Session {
  const session = settled.get(c.req.raw);
  if (!session) throw new Error("sessionOf() needs requireSession() (or an awaited getSession()) first");
  return session;
}

/** Like getSession(), but also makes the result available to the synchronous sessionOf()/csrfInput(). */
export async function loadSession(c: Context<AppEnv>): Promise<Session | null> {
  const session = await getSession(c);
  settled.set(c.req.raw, session);
  return session;
}

async function writeCookie(c: Context<AppEnv>, user: string, repository: string, csrf: string, expires: number) {
  const key = await cookieKey(c.env.HUB_SIGNING_SEED, "web-session-v1");
  const jwt = await new SignJWT({ repo: repository, csrf })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(key);
  setCookie(c, SESSION_COOKIE, jwt, {
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge: Math.max(0, expires - Math.floor(Date.now() / 1000)),
  });
}

/** Signs `user` in (after a verified ThreeFold Connect login): a new session with a fresh CSRF token. */
export async function startSession(
  c: Context<AppEnv>,
  user: string,
  now = Math.floor(Date.now() / 1000),
): Promise<Session> {
  const expires = now + sessionMaxAge(c.env.HUB_SESSION_MAX_AGE);
  const csrf = randomToken();
  await writeCookie(c, user, user, csrf, expires);
  const repositories = [user, ...(await listRepositoriesOf(c.env.DB, user)).filter((r) => r !== user)];
  const session: Session = { user, repository: user, repositories, csrf, expires };
  loaded.set(c.req.raw, Promise.resolve(session));
  settled.set(c.req.raw, session);
  return session;
}

/**
 * Switches the acting repository of the current session to one of the user's memberships. Returns the updated
 * session, or null when `repository` is not one the user may act for. Keeps the CSRF token and the expiry.
 */
export async function switchRepository(c: Context<AppEnv>, repository: string): Promise<Session | null> {
  const session = await getSession(c);
  if (!session || !session.repositories.includes(repository)) return null;
  await writeCookie(c, session.user, repository, session.csrf, session.expires);
  const updated = { ...session, repository };
  loaded.set(c.req.raw, Promise.resolve(updated));
  settled.set(c.req.raw, updated);
  return updated;
}

/** Signs out: the cookie is deleted (with the same attributes, so the browser really drops it). */
export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, secure: true, sameSite: "Lax" });
  loaded.set(c.req.raw, Promise.resolve(null));
  settled.delete(c.req.raw);
}

/**
 * A local path to come back to after signing in: only same-site absolute paths ("/x"), never "//host" or
 * "/\host" (which browsers treat as another origin), never a scheme. Anything else gives "/".
 */
export function safeNext(raw: string | null | undefined): string {
  if (!raw || raw.length > 2048) return "/";
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return "/";
  return raw;
}

export function signInUrl(next: string): string {
  return `/login-method?next=${encodeURIComponent(safeNext(next))}`;
}

/** Pages for signed-in users: redirects to the sign-in page (and back afterwards) when nobody is signed in. */
export function requireSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const session = await loadSession(c);
    if (!session) {
      const url = new URL(c.req.url);
      const method = c.req.method;
      // After a refused POST, come back to the page (GET) rather than replaying the form.
      const back = method === "GET" || method === "HEAD" ? url.pathname + url.search : url.pathname;
      return c.redirect(signInUrl(back), method === "GET" || method === "HEAD" ? 302 : 303);
    }
    await next();
  };
}
