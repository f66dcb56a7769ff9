/**
 * The sign-in `state`, bound to the browser that started the sign-in: a random value sent to ThreeFold Connect
 * and kept in a short-lived signed (HS256, key derived from HUB_SIGNING_SEED), HttpOnly, Secure, SameSite=Lax
 * cookie. SameSite=Lax still sends it on the top-level GET that brings the browser back from the login
 * service. The cookie is single-use: the callback deletes it whatever the outcome.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { SignJWT, jwtVerify } from "jose";
import { z } from "zod";
import { cookieKey, randomToken } from "../../auth/cookie-keys";
import type { AppEnv } from "../../env";

/** What the sign-in was started for: a website session, an API token, or the local one-click sign-in. */
export type SigninPurpose = "session" | "token" | "local";

const COOKIES: Record<SigninPurpose, string> = {
  session: "hub_signin_state",
  token: "hub_token_state",
  local: "hub_local_signin",
};
const AUDIENCE = "zos-hub/signin-state";
/** Long enough to open the app and approve; short enough that a stolen state is useless. */
export const STATE_MAX_AGE = 10 * 60;

const claimsSchema = z.object({ state: z.string().min(16), purpose: z.string(), next: z.string() });

export interface PendingSignin {
  state: string;
  next: string;
}

/** Starts a sign-in: a fresh state, remembered in this browser's cookie for `purpose`. */
export async function issueState(c: Context<AppEnv>, purpose: SigninPurpose, next: string): Promise<string> {
  const state = randomToken(24);
  const key = await cookieKey(c.env.HUB_SIGNING_SEED, "tfconnect-state-v1");
  const jwt = await new SignJWT({ state, purpose, next })
    .setProtectedHeader({ alg: "HS256" })
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + STATE_MAX_AGE)
    .sign(key);
  setCookie(c, COOKIES[purpose], jwt, {
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge: STATE_MAX_AGE,
  });
  return state;
}

/** Reads and deletes the pending sign-in of `purpose`; null when missing, expired, tampered or of another purpose. */
export async function takeState(c: Context<AppEnv>, purpose: SigninPurpose): Promise<PendingSignin | null> {
  const cookie = getCookie(c, COOKIES[purpose]);
  if (!cookie) return null;
  deleteCookie(c, COOKIES[purpose], { path: "/", httpOnly: true, secure: true, sameSite: "Lax" });
  try {
    const key = await cookieKey(c.env.HUB_SIGNING_SEED, "tfconnect-state-v1");
    const { payload } = await jwtVerify(cookie, key, { algorithms: ["HS256"], audience: AUDIENCE });
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success || claims.data.purpose !== purpose) return null;
    return { state: claims.data.state, next: claims.data.next };
  } catch {
    return null;
  }
}
