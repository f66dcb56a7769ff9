/**
 * `requireActor()`: the original hub's `@apicall` (docs/compatibility.md §4.2) for every `/api/flist/me/*` route, plus
 * token expiry, revocation and organisation membership. On success `c.var.actor` is `{ user, repository }`:
 * `user` is the token subject, `repository` the repository "me" means for this request.
 *
 * Names are checked here, once for every authenticated route: the token's user must pass the name rule and the
 * acting repository (the user, or the one asked for) the repository rule (docs/names.md), so no route can write
 * into a repository named `me`, `api`, `..\x` or `a‮b`.
 *
 * Only the `Authorization` header authenticates (never a browser cookie session, so no CSRF); the
 * `active-user` cookie only *selects* a repository, as `zflist hub` uses it. Every refusal is the JSON error
 * envelope, which 0-hub-gw relies on for `/api/flist/me`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Actor, AppEnv } from "../env";
import { nameProblem, refusal, repositoryProblem } from "../names";
import { headerText } from "../http/header-text";
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

/** A whole number of seconds from the configuration; a bad value refuses every call rather than silently disabling a check. */
function seconds(raw: string | undefined, fallback: string, variable: string): number {
  const value = (raw ?? fallback).trim() || fallback;
  if (!/^\d+$/.test(value)) throw new AuthError(500, `invalid ${variable} configuration`);
  return Number(value);
}

/** Parses `HUB_TOKEN_MAX_AGE` (0 = tokens never expire). */
export function tokenMaxAge(raw: string | undefined): number {
  return seconds(raw, "0", "HUB_TOKEN_MAX_AGE");
}

export const DEFAULT_TOKEN_MAX_SKEW_SECONDS = 300;

/**
 * Parses `HUB_TOKEN_MAX_SKEW_SECONDS`: how far ahead of the hub's clock a token's timestamp may be (clients'
 * clocks drift). Without this bound a token dated years ahead would never reach HUB_TOKEN_MAX_AGE and would
 * outlive every revoke-all ("not before" compares timestamps).
 */
export function tokenMaxSkew(raw: string | undefined): number {
  return seconds(raw, String(DEFAULT_TOKEN_MAX_SKEW_SECONDS), "HUB_TOKEN_MAX_SKEW_SECONDS");
}

/** The repository the caller asks to act for: header first (explicit), then the `active-user` cookie. */
function requestedRepository(c: Context<AppEnv>): { name: string; from: string } | null {
  const header = headerText(c.req.header(REPOSITORY_HEADER))?.trim();
  if (header) return { name: header, from: REPOSITORY_HEADER };
  const cookie = headerText(getCookie(c, ACTIVE_USER_COOKIE))?.trim();
  return cookie ? { name: cookie, from: `${ACTIVE_USER_COOKIE} cookie` } : null;
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
  const maxSkew = tokenMaxSkew(env.HUB_TOKEN_MAX_SKEW_SECONDS);
  const verified = await verifyToken(env.HUB_SIGNING_SEED, token);
  if (!verified) throw new AuthError(401, "invalid signature");

  // 4. the timestamp (added; the original never looks at it): not from the future, then not too old (0 = never expires).
  const ahead = verified.issuedAt - now;
  if (ahead > maxSkew) {
    throw new AuthError(
      401,
      `token issued in the future: its timestamp is ${ahead} s ahead of the hub's clock ` +
        `(at most ${maxSkew} s allowed, HUB_TOKEN_MAX_SKEW_SECONDS)`,
    );
  }
  if (maxAge > 0 && now - verified.issuedAt > maxAge) throw new AuthError(401, "token expired");

  // 5. names: the token's user, and the repository it acts for (which writes may create).
  const userProblem = nameProblem(verified.user);
  if (userProblem) throw new AuthError(400, `invalid token user: ${refusal(verified.user, userProblem)}`);
  const wanted = requestedRepository(c);
  const repository = wanted?.name ?? verified.user;
  const repositoryIssue = repositoryProblem(repository);
  if (repositoryIssue) {
    const what = wanted ? `repository (${wanted.from})` : "repository (the token's user)";
    throw new AuthError(400, `invalid ${what}: ${refusal(repository, repositoryIssue)}`);
  }

  // 6. revocation, registered expiry and membership in one D1 round trip.
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
