/**
 * Configuration of the website's sign-in and sessions (wrangler.toml [vars] and secrets). Declared here by
 * augmenting `Env`, so the bindings stay typed without touching the shared env module.
 */
import type { Context } from "hono";

declare module "../env" {
  interface Env {
    /** Lifetime of a website session in seconds (default 43200 = 12 hours). */
    HUB_SESSION_MAX_AGE?: string;
    /** ThreeFold Connect login service, no trailing slash (default https://login.threefold.me). */
    HUB_TFCONNECT_URL?: string;
    /** `appid` sent to ThreeFold Connect (the original's `threebot-appid`); empty = the hub's host name. */
    HUB_TFCONNECT_APPID?: string;
    /** Secret: the hub's X25519 private key for ThreeFold Connect, base64 of 32 bytes (`threebot-privatekey`). */
    HUB_TFCONNECT_PRIVATE_KEY?: string;
    /**
     * Local runs only (`npm start`): the user offered a one-click sign-in, without ThreeFold Connect. Empty (the
     * default) disables the route; it is also refused unless the request comes to a loopback host.
     */
    HUB_LOCAL_SIGNIN_USER?: string;
  }
}

export const DEFAULT_SESSION_MAX_AGE = 12 * 60 * 60;
export const DEFAULT_TFCONNECT_URL = "https://login.threefold.me";

/** Parses a positive number of seconds; a malformed value falls back to the default rather than failing open. */
export function sessionMaxAge(raw: string | undefined): number {
  const value = (raw ?? "").trim();
  if (!/^\d+$/.test(value) || Number(value) === 0) return DEFAULT_SESSION_MAX_AGE;
  return Math.min(Number(value), 400 * 24 * 60 * 60); // browsers cap cookie lifetimes at 400 days
}

export function tfconnectUrl(raw: string | undefined): string {
  const value = (raw ?? "").trim().replace(/\/+$/, "");
  return value || DEFAULT_TFCONNECT_URL;
}

/** The hub's origin as the browser sees it: HUB_PUBLIC_URL when set, else the request's origin. */
export function hubOrigin(c: Context): string {
  const configured = ((c.env as { HUB_PUBLIC_URL?: string }).HUB_PUBLIC_URL ?? "").trim().replace(/\/+$/, "");
  return configured || new URL(c.req.url).origin;
}
