/**
 * Sign-in routes (docs/compatibility.md §3.1, §4.4), mounted at "/" by the website:
 *
 *   GET  /login-method          the sign-in page (ThreeFold Connect; the local one-click sign-in on a local run)
 *   GET  /login?next=/path      → 302 to ThreeFold Connect, state bound to this browser
 *   GET  /callback_threebot     verifies the signed attempt, starts a session, → 302 next
 *   GET  /token                 → 302 to ThreeFold Connect to mint an API token (no session)
 *   GET  /callback_token        same verification, then shows a new registered token once (never in a URL)
 *   GET  /token/<token>         shows a token of this hub (the original's page; any other string is refused)
 *   GET|POST /logout            clears the session, → 302 /
 *   POST /login/local           local runs only: signs in HUB_LOCAL_SIGNIN_USER (state-checked form)
 *
 * Every answer here carries `Cache-Control: no-store`: they set cookies or show secrets.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { safeEqual } from "../../auth/cookie-keys";
import { createToken } from "../../auth/registry";
import { verifyToken } from "../../auth/tokens";
import { hubOrigin, tfconnectUrl } from "../../auth/web-config";
import { repositoryProblem } from "../../names";
import type { AppEnv } from "../../env";
import { page } from "./page";
import { endSession, loadSession, safeNext, startSession } from "../session";
import { LoginMethodBody, SigninRefusedBody, TokenShownBody } from "./pages";
import { issueState, takeState } from "./state";
import { SigninError, doubleNameSchema, hubKeyPair, loginRedirect, verifySignedAttempt } from "./tfconnect";

export const signinRoutes = new Hono<AppEnv>();

// Per path, never `use("*")`: mounted at "/", a wildcard middleware would run in front of every page of the site.
const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
};
const PATHS = ["/login-method", "/login", "/login/local", "/token", "/token/:token", "/logout"];
for (const path of [...PATHS, "/callback_threebot", "/callback_token"]) signinRoutes.use(path, noStore);

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function isLoopback(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * The local one-click sign-in user, or null. Needs HUB_LOCAL_SIGNIN_USER (set by `npm start` only) and a hub
 * reached and published on a loopback address, so a deployed hub never offers it even if the variable leaks in.
 */
export function localSigninUser(c: Context<AppEnv>): string | null {
  const user = (c.env.HUB_LOCAL_SIGNIN_USER ?? "").trim();
  if (!user || !doubleNameSchema.safeParse(user).success || repositoryProblem(user)) return null;
  if (!isLoopback(c.req.url) || !isLoopback(hubOrigin(c))) return null;
  return user;
}

function tfconnectConfigured(c: Context<AppEnv>): boolean {
  try {
    hubKeyPair(c.env.HUB_TFCONNECT_PRIVATE_KEY);
    return true;
  } catch {
    return false;
  }
}

function appId(c: Context<AppEnv>): string {
  const configured = (c.env.HUB_TFCONNECT_APPID ?? "").trim();
  return configured || new URL(hubOrigin(c)).host;
}

function refused(c: Context<AppEnv>, status: 400 | 403 | 500 | 502, message: string): Promise<Response> {
  return page(c, { title: "Sign-in refused", active: "signin" }, <SigninRefusedBody message={message} />, status);
}

signinRoutes.get("/login-method", async (c) => {
  const next = safeNext(c.req.query("next"));
  const session = await loadSession(c);
  const localUser = localSigninUser(c);
  const local = localUser ? { user: localUser, state: await issueState(c, "local", next) } : null;
  return page(
    c,
    { title: "Sign in", active: "signin" },
    <LoginMethodBody next={next} local={local} signedInAs={session?.user ?? null} tfconnect={tfconnectConfigured(c)} />,
  );
});

async function startTfconnect(c: Context<AppEnv>, purpose: "session" | "token", callback: string): Promise<Response> {
  let publicKey: string;
  try {
    publicKey = hubKeyPair(c.env.HUB_TFCONNECT_PRIVATE_KEY).publicKey;
  } catch (err) {
    if (err instanceof SigninError) return refused(c, err.status, err.message);
    throw err;
  }
  const state = await issueState(c, purpose, safeNext(c.req.query("next")));
  return c.redirect(
    loginRedirect({
      loginUrl: tfconnectUrl(c.env.HUB_TFCONNECT_URL),
      appId: appId(c),
      hubPublicKey: publicKey,
      state,
      redirectUrl: callback,
    }),
    302,
  );
}

signinRoutes.get("/login", (c) => startTfconnect(c, "session", "/callback_threebot"));
signinRoutes.get("/token", (c) => startTfconnect(c, "token", "/callback_token"));

/** The checks shared by both callbacks; returns the verified user and where to go next. */
async function verifyCallback(
  c: Context<AppEnv>,
  purpose: "session" | "token",
): Promise<{ user: string; next: string }> {
  // Taken (and deleted) first: a state is good for one answer, whatever happens next.
  const pending = await takeState(c, purpose);
  const error = c.req.query("error");
  if (error !== undefined) throw new SigninError(400, `Authentication failed: ${error.slice(0, 200)}`);
  const signedAttempt = c.req.query("signedAttempt");
  if (!signedAttempt) throw new SigninError(400, "ThreeFold Connect sent no signed attempt, denied.");
  if (!pending) {
    throw new SigninError(
      400,
      "This sign-in was not started in this browser, or it took more than 10 minutes (no sign-in state), " +
        "denied. Start again.",
    );
  }
  const keys = hubKeyPair(c.env.HUB_TFCONNECT_PRIVATE_KEY);
  const verified = await verifySignedAttempt({
    signedAttempt,
    expectedState: pending.state,
    appId: appId(c),
    loginUrl: tfconnectUrl(c.env.HUB_TFCONNECT_URL),
    hubSecretKey: keys.secretKey,
  });
  return { user: verified.user, next: pending.next };
}

signinRoutes.get("/callback_threebot", async (c) => {
  let result: { user: string; next: string };
  try {
    result = await verifyCallback(c, "session");
  } catch (err) {
    if (err instanceof SigninError) return refused(c, err.status, err.message);
    throw err;
  }
  await startSession(c, result.user);
  return c.redirect(result.next, 302);
});

signinRoutes.get("/callback_token", async (c) => {
  let result: { user: string; next: string };
  try {
    result = await verifyCallback(c, "token");
  } catch (err) {
    if (err instanceof SigninError) return refused(c, err.status, err.message);
    throw err;
  }
  // Registered (named, revocable from My account); shown here once instead of the original's /token/<token>
  // redirect, which put the token in the address bar, the history and the server logs.
  const { token } = await createToken(c.env.DB, c.env.HUB_SIGNING_SEED, result.user, "ThreeFold Connect /token", null);
  return page(
    c,
    { title: "API token" },
    <TokenShownBody token={token} user={result.user} origin={hubOrigin(c)} name="ThreeFold Connect /token" />,
  );
});

signinRoutes.get("/token/:token", async (c) => {
  const token = c.req.param("token");
  const verified = await verifyToken(c.env.HUB_SIGNING_SEED, token).catch(() => null);
  if (!verified) return refused(c, 400, "This is not an API token of this hub.");
  return page(c, { title: "API token" }, <TokenShownBody token={token} user={verified.user} origin={hubOrigin(c)} />);
});

// GET stays (the original's navbar link); signing out is harmless, so it needs no CSRF token.
const logout = async (c: Context<AppEnv>) => {
  endSession(c);
  return c.redirect("/", c.req.method === "GET" ? 302 : 303);
};
signinRoutes.get("/logout", logout);
signinRoutes.post("/logout", logout);

signinRoutes.post("/login/local", async (c) => {
  const user = localSigninUser(c);
  if (!user) return refused(c, 403, "The one-click sign-in exists only on a hub running on this machine.");
  const pending = await takeState(c, "local");
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const state = typeof body.state === "string" ? body.state : "";
  if (!pending || !safeEqual(state, pending.state)) {
    const message =
      "This sign-in form is out of date (or was not opened in this browser). Open the sign-in page again.";
    return refused(c, 400, message);
  }
  await startSession(c, user);
  return c.redirect(pending.next, 303);
});
