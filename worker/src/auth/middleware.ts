/**
 * `requireActor()`: the original hub's `@apicall` (hub-api.md §6.3) for every `/api/flist/me/*` route, plus
 * token expiry, revocation and organisation membership. On success `c.var.actor` is `{ user, repository }`:
 * `user` is the token subject, `repository` the repository "me" means for this request.
 *
 * Only the `Authorization` header authenticates (never a browser cookie session, so no CSRF); the
 * `active-user` cookie only *selects* a repository, as `zflist hub` uses it. Every refusal is the JSON error
 * envelope, which 0-hub-gw relies on for `/api/flist/me`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Actor, AppEnv } from "../env";
import { fail } from "../http/respond";
import { checkTokenState } from "./store";
import { isValidSeedHex, tokenDigest, verifyToken } from "./tokens";

/** Header that selects the acting repository for scripts (the cookie is the original's way). */
export const REPOSITORY_HEADER = "X-Hub-Repository";
export const ACTIVE_USER_COOKIE = "active-user";

export class AuthError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `HUB_TOKEN_MAX_AGE`; a bad value refuses every call rather than silently disabling expiry. */
export function tokenMaxAge(raw: string | undefined): number {
  const value = (raw ?? "0").trim() || "0";
  if (!/^\d+$/.test(value)) throw new AuthError(500, "invalid HUB_TOKEN_MAX_AGE configuration");
  return Number(value);
}

/** The repository the caller asks to act for: header first (explicit), then the `active-user` cookie. */
function requestedRepository(c: Context<AppEnv>): string | null {
  const header = c.req.header(REPOSITORY_HEADER)?.trim();
  if (header) return header;
  const cookie = getCookie(c, ACTIVE_USER_COOKIE)?.trim();
  return cookie ? cookie : null;
}

/**
 * Authenticates the request; throws AuthError with the status and message to answer. Exported for routes that
 * need the decision without the middleware wrapper.
 */
export async function authenticate(c: Context<AppEnv>, now = Math.floor(Date.now() / 1000)): Promise<Actor> {
  const env = c.env;
  // 1. readonly beats everything, as in the original (400, not 403).
  if (env.HUB_READONLY === "true") throw new AuthError(400, "readonly mode");

  // 2. header presence, then its shape. The original's regex is `^bearer (.*)$`, case-insensitive.
  // The original tests `not request.headers.get("Authorization")`: an empty header counts as missing.
  const header = c.req.header("Authorization");
  if (!header) throw new AuthError(401, "no authorization provided");
  const match = /^bearer (.*)$/i.exec(header);
  if (!match) throw new AuthError(400, "invalid authorization header");
  const token = match[1] ?? "";

  // 3. signature. A missing/invalid seed is a server misconfiguration, not the caller's fault.
  if (!isValidSeedHex(env.HUB_SIGNING_SEED)) throw new AuthError(500, "hub signing key is not configured");
  const maxAge = tokenMaxAge(env.HUB_TOKEN_MAX_AGE);
  const verified = await verifyToken(env.HUB_SIGNING_SEED, token);
  if (!verified) throw new AuthError(401, "invalid signature");

  // 4. expiry (added; the original never looks at the timestamp). 0 = never expires.
  if (maxAge > 0 && now - verified.issuedAt > maxAge) throw new AuthError(401, "token expired");

  // 5. revocation, registered expiry and membership in one D1 round trip.
  const wanted = requestedRepository(c);
  const repository = wanted ?? verified.user;
  const state = await checkTokenState(
    env.DB,
    verified.user,
    await tokenDigest(verified.bytes),
    repository === verified.user ? null : repository,
  );
  if (state.revoked || (state.notBefore !== null && verified.issuedAt <= state.notBefore)) {
    throw new AuthError(401, "token revoked");
  }
  // A token made on the website carries its own lifetime in the registry (its bytes have no room for it).
  if (state.expires !== null && now >= state.expires) throw new AuthError(401, "token expired");
  if (!state.member) throw new AuthError(403, `not a member of repository ${JSON.stringify(repository)}`);

  return { user: verified.user, repository };
}

export function requireActor(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let actor: Actor;
    try {
      actor = await authenticate(c);
    } catch (err) {
      if (err instanceof AuthError) return fail(c, err.status, err.message);
      throw err;
    }
    c.set("actor", actor);
    await next();
  };
}
