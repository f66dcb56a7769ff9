/**
 * Helpers of the sign-in and account tests (not a test file): the website's routes on a test app (the real
 * modules, mounted as the website mounts them, plus the real API), a cookie jar, and the ThreeFold Connect peer
 * (web-signin-peer.ts) answering the hub's outbound `GET <login>/api/users/<name>`.
 */
import { vi } from "vitest";
import { Hono } from "hono";
import { authApi } from "../src/auth/routes";
import { app as hubApp } from "../src/app";
import type { AppEnv, Env } from "../src/env";
import { accountRoutes } from "../src/web/account/routes";
import { requireCsrf, csrfInput } from "../src/web/csrf";
import { requireSession, sessionOf } from "../src/web/session";
import { signinRoutes } from "../src/web/signin/routes";
import { env as baseEnv } from "./auth-support";
import { type Fault, type PeerUser, makeHubKey, makeUser, signedAttempt, userRecord } from "./web-signin-peer";

export const HUB = "http://hub.test";
export const TFCONNECT = "http://tfconnect.test";
export const hubKey = makeHubKey();

export const webEnv: Env = {
  ...baseEnv,
  HUB_TFCONNECT_URL: TFCONNECT,
  HUB_TFCONNECT_PRIVATE_KEY: hubKey.privateKey,
  HUB_LOCAL_SIGNIN_USER: "",
};

/** The website's sign-in and account routes plus a probe page and form, in front of the hub's own app. */
export function webApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.route("/", signinRoutes);
  app.route("/", accountRoutes);
  app.get("/probe", requireSession(), (c) => {
    const s = sessionOf(c);
    return c.html(`<p id="who">${s.user}|${s.repository}</p><form method="post">${csrfInput(c).toString()}</form>`);
  });
  app.post("/probe", requireSession(), requireCsrf(), async (c) => c.text(`changed by ${sessionOf(c).user}`));
  app.route("/", authApi);
  app.route("/", hubApp);
  return app;
}

/** Remembers cookies like a browser would for one origin (name → value; Max-Age=0 deletes). */
export class Jar {
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie lines of the last response. */
  lastSetCookies: string[] = [];

  take(res: Response): void {
    this.lastSetCookies = res.headers.getSetCookie();
    for (const line of this.lastSetCookies) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  setCookieFor(name: string): string | undefined {
    return this.lastSetCookies.find((l) => l.startsWith(`${name}=`));
  }
}

export async function web(
  path: string,
  init: RequestInit & { jar?: Jar; envOverrides?: Partial<Env> } = {},
): Promise<Response> {
  const { jar, envOverrides, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (jar && jar.cookies.size > 0) headers.set("Cookie", jar.header());
  const url = path.startsWith("http") ? path : HUB + path;
  const request = new Request(url, { ...rest, headers, redirect: "manual" });
  const res = await webApp().fetch(request, { ...webEnv, ...envOverrides });
  jar?.take(res);
  return res;
}

/** Published users of the login service stand-in, by double name. */
export const published = new Map<string, PeerUser>();

/** Routes the Worker's outbound fetch to the login service to the peer; everything else goes out unchanged. */
export function serveTfconnect(): { calls: string[]; restore(): void } {
  const calls: string[] = [];
  const realFetch = globalThis.fetch.bind(globalThis);
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== TFCONNECT) return realFetch(input, init);
    calls.push(url.pathname);
    const match = /^\/api\/users\/([^/]+)$/.exec(url.pathname);
    const user = match ? published.get(decodeURIComponent(match[1]!)) : undefined;
    if (!user) return Response.json({ error: "user not found" }, { status: 404 });
    return Response.json(userRecord(user));
  });
  return { calls, restore: () => spy.mockRestore() };
}

export function publishUser(doubleName: string): PeerUser {
  const user = makeUser(doubleName);
  published.set(doubleName, user);
  return user;
}

/** Starts a sign-in (`/login` or `/token`) in `jar`; returns the redirect's parameters. */
export async function startSignin(jar: Jar, path = "/login"): Promise<URLSearchParams> {
  const res = await web(path, { jar });
  if (res.status !== 302) throw new Error(`${path} answered ${res.status}`);
  const location = new URL(res.headers.get("Location")!);
  return location.searchParams;
}

/** The callback URL the login service would send the browser to. */
export function callbackUrl(params: URLSearchParams, user: PeerUser, fault?: Fault): string {
  const attempt = signedAttempt(user, {
    state: params.get("state")!,
    appId: params.get("appid")!,
    hubPublicKey: params.get("publickey")!,
    fault,
  });
  return `${params.get("redirecturl")}?signedAttempt=${encodeURIComponent(attempt)}`;
}

/** A complete ThreeFold Connect sign-in of `user` into `jar`. */
export async function signIn(jar: Jar, user: PeerUser, next?: string): Promise<Response> {
  const params = await startSignin(jar, next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  return web(callbackUrl(params, user), { jar });
}
