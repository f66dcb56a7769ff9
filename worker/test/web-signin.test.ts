/**
 * ThreeFold Connect sign-in (docs/compatibility.md §4.4, done right): the state bound to the browser, the signed attempt
 * verified with the key the login service publishes, the payload decrypted, unverified email refused; the
 * session cookie's flags; logout; the session never authenticating the API. The login service is a real
 * protocol peer with real keys (web-signin-peer.ts), reached through the Worker's outbound fetch.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "./auth-support";
import { signToken } from "../src/auth/tokens";
import {
  HUB,
  Jar,
  TFCONNECT,
  callbackUrl,
  hubKey,
  publishUser,
  serveTfconnect,
  signIn,
  startSignin,
  web,
  webEnv,
} from "./web-signin-support";

let tf: ReturnType<typeof serveTfconnect>;
beforeAll(async () => {
  await migrate();
  tf = serveTfconnect();
});
afterAll(() => tf.restore());

const alice = publishUser("alice.3bot");

async function refusedWith(res: Response, status: number, text: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  const body = await res.text();
  expect(body).toMatch(text);
}

describe("/login", () => {
  it("redirects to the login service with the original's parameters and binds the state to the browser", async () => {
    const jar = new Jar();
    const res = await web("/login?next=%2Fupload", { jar });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin + location.pathname).toBe(`${TFCONNECT}/`);
    const keys = location.search.slice(1).split("&").map((p) => p.split("=")[0]);
    expect(keys).toEqual(["appid", "publickey", "state", "redirecturl", "scope"]);
    expect(location.searchParams.get("appid")).toBe("hub.test");
    expect(location.searchParams.get("publickey")).toBe(hubKey.publicKey);
    expect(location.searchParams.get("redirecturl")).toBe("/callback_threebot");
    expect(res.headers.get("Location")).toContain("redirecturl=%2Fcallback_threebot");
    expect(location.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const cookie = jar.setCookieFor("hub_signin_state")!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=600/);
    // The state itself is not readable from the cookie's name/value pair without the signature key, but it is
    // never the bare state: a forged cookie cannot be made from a state seen in a URL.
    expect(jar.cookies.get("hub_signin_state")).not.toBe(location.searchParams.get("state"));
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("uses a fresh state every time", async () => {
    const a = await startSignin(new Jar());
    const b = await startSignin(new Jar());
    expect(a.get("state")).not.toBe(b.get("state"));
  });

  it("explains a hub without a ThreeFold Connect key instead of redirecting", async () => {
    const res = await web("/login", { envOverrides: { HUB_TFCONNECT_PRIVATE_KEY: "" } });
    await refusedWith(res, 500, /not configured/);
    const page = await (await web("/login-method", { envOverrides: { HUB_TFCONNECT_PRIVATE_KEY: "" } })).text();
    expect(page).toContain('id="signin-unavailable"');
    expect(page).not.toContain('id="signin-tfconnect"');
    expect(await (await web("/login-method")).text()).toContain('id="signin-tfconnect"');
  });
});

describe("/callback_threebot", () => {
  it("signs a verified user in: cookie HttpOnly, Secure, SameSite=Lax with an expiry, back to next", async () => {
    const jar = new Jar();
    const res = await signIn(jar, alice, "/upload?x=1");
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/upload?x=1");
    const cookie = jar.setCookieFor("hub_session")!;
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=43200/);
    // The state is single-use: the callback deletes its cookie.
    expect(jar.cookies.has("hub_signin_state")).toBe(false);
    expect(tf.calls).toContain("/api/users/alice.3bot");

    const page = await web("/probe", { jar });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("alice.3bot|alice.3bot");
  });

  it("never redirects to another site after signing in", async () => {
    for (const next of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
      const jar = new Jar();
      const res = await signIn(jar, alice, next);
      expect(res.status).toBe(302);
      expect(res.headers.get("Location")).toBe("/");
    }
  });

  it("refuses an answer without the state cookie (sign-in not started in this browser)", async () => {
    const params = await startSignin(new Jar());
    const res = await web(callbackUrl(params, alice), { jar: new Jar() });
    await refusedWith(res, 400, /not started in this browser/);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("hub_session="))).toBe(false);
  });

  it("refuses a state that does not match this browser's (tampered, or another browser's sign-in)", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const tampered = await web(callbackUrl(params, alice, "tampered-state"), { jar });
    await refusedWith(tampered, 400, /state mismatch/);
    expect(jar.cookies.has("hub_session")).toBe(false);

    // Someone else's genuine answer replayed into this browser.
    const mine = new Jar();
    await startSignin(mine);
    const theirs = await startSignin(new Jar());
    const res = await web(callbackUrl(theirs, alice), { jar: mine });
    await refusedWith(res, 400, /state mismatch/);
    expect(mine.cookies.has("hub_session")).toBe(false);
  });

  it("refuses a forged state cookie", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const value = jar.cookies.get("hub_signin_state")!;
    jar.cookies.set("hub_signin_state", value.slice(0, -4) + (value.endsWith("AAAA") ? "BBBB" : "AAAA"));
    const res = await web(callbackUrl(params, alice), { jar });
    await refusedWith(res, 400, /not started in this browser/);
  });

  it("is single-use: the same answer cannot be replayed", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const url = callbackUrl(params, alice);
    expect((await web(url, { jar })).status).toBe(302);
    jar.cookies.delete("hub_session");
    await refusedWith(await web(url, { jar }), 400, /not started in this browser/);
  });

  it("refuses a bad signature", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const res = await web(callbackUrl(params, alice, "bad-signature"), { jar });
    await refusedWith(res, 400, /Unable to verify the signature/);
    expect(jar.cookies.has("hub_session")).toBe(false);
  });

  it("refuses a signed payload naming another user than the answer", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    await refusedWith(await web(callbackUrl(params, alice, "other-user"), { jar }), 400, /another user/);
  });

  it("refuses a payload it cannot decrypt (sealed for another hub)", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const res = await web(callbackUrl(params, alice, "wrong-hub-key"), { jar });
    await refusedWith(res, 400, /Unable to decrypt payload/);
  });

  it("refuses an unverified email", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    await refusedWith(await web(callbackUrl(params, alice, "unverified-email"), { jar }), 403, /Email unverified/);
    expect(jar.cookies.has("hub_session")).toBe(false);
  });

  it("refuses a user the login service does not know, and an error answer", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    const stranger = { ...alice, doubleName: "nobody.3bot" };
    await refusedWith(await web(callbackUrl(params, stranger), { jar }), 400, /does not know the user/);
    const jar2 = new Jar();
    await startSignin(jar2);
    const cancelled = await web("/callback_threebot?error=CancelledByUser", { jar: jar2 });
    await refusedWith(cancelled, 400, /Authentication failed: CancelledByUser/);
    await refusedWith(await web("/callback_threebot", { jar: new Jar() }), 400, /no signed attempt/);
    await refusedWith(await web("/callback_threebot?signedAttempt=%7Bnot-json", { jar: new Jar() }), 400, /./);
  });

  it("refuses an answer for another application", async () => {
    const jar = new Jar();
    const params = await startSignin(jar);
    params.set("appid", "other.example");
    await refusedWith(await web(callbackUrl(params, alice), { jar }), 400, /another application/);
  });
});

describe("sessions", () => {
  it("pages that need a session send the visitor to sign in and back", async () => {
    const res = await web("/probe?tab=2");
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`/login-method?next=${encodeURIComponent("/probe?tab=2")}`);
  });

  it("a tampered or foreign session cookie is no session", async () => {
    const jar = new Jar();
    await signIn(jar, alice);
    const value = jar.cookies.get("hub_session")!;
    const [h, p, s] = value.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    payload.sub = "mallory.3bot";
    const forged = btoa(JSON.stringify(payload)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    jar.cookies.set("hub_session", `${h}.${forged}.${s}`);
    expect((await web("/probe", { jar })).status).toBe(302);
    // Signed with another seed (another hub): refused too.
    const other = new Jar();
    await signIn(other, alice);
    const res = await web("/probe", {
      jar: other,
      envOverrides: { HUB_SIGNING_SEED: "1111111111111111111111111111111111111111111111111111111111111111" },
    });
    expect(res.status).toBe(302);
  });

  it("logout clears the session", async () => {
    const jar = new Jar();
    await signIn(jar, alice);
    const res = await web("/logout", { jar });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/");
    expect(jar.setCookieFor("hub_session")).toMatch(/Max-Age=0/);
    expect(jar.cookies.has("hub_session")).toBe(false);
    expect((await web("/probe", { jar })).status).toBe(302);
  });

  it("revoking all of a user's tokens also ends the user's website sessions", async () => {
    const carol = publishUser("carol.3bot");
    const jar = new Jar();
    await signIn(jar, carol);
    expect((await web("/probe", { jar })).status).toBe(200);
    // "Not before" a second from now covers the session signed this second.
    const res = await web("/internal/tokens/revoke", {
      method: "POST",
      headers: { Authorization: `Bearer ${webEnv.INTERNAL_SECRET}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user: "carol.3bot", notBefore: Math.floor(Date.now() / 1000) + 1 }),
    });
    expect(res.status).toBe(200);
    expect((await web("/probe", { jar })).status).toBe(302);
  });

  it("the API never accepts the session cookie", async () => {
    const jar = new Jar();
    await signIn(jar, alice);
    const me = await web("/api/flist/me", { jar });
    expect(me.status).toBe(401);
    expect(await me.json()).toEqual({ status: "error", message: "no authorization provided" });
    const del = await web("/api/flist/me/anything", { jar, method: "DELETE" });
    expect(del.status).toBe(401);
  });
});

describe("CSRF", () => {
  it("refuses a state-changing form without the session's token, with a 403 page", async () => {
    const jar = new Jar();
    await signIn(jar, alice);
    const none = await web("/probe", {
      jar,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "x=1",
    });
    await refusedWith(none, 403, /security token \(CSRF\)/);
    const wrong = await web("/probe", {
      jar,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "_csrf=" + "A".repeat(43),
    });
    await refusedWith(wrong, 403, /CSRF/);
  });

  it("accepts the token from the page's form or the X-CSRF-Token header", async () => {
    const jar = new Jar();
    await signIn(jar, alice);
    const page = await (await web("/probe", { jar })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const viaForm = await web("/probe", {
      jar,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `x=1&_csrf=${encodeURIComponent(token)}`,
    });
    expect(viaForm.status).toBe(200);
    expect(await viaForm.text()).toBe("changed by alice.3bot");
    const multipart = new FormData();
    multipart.set("_csrf", token);
    expect((await web("/probe", { jar, method: "POST", body: multipart })).status).toBe(200);
    expect((await web("/probe", { jar, method: "POST", headers: { "X-CSRF-Token": token } })).status).toBe(200);
  });

  it("another session's token does not work", async () => {
    const a = new Jar();
    const b = new Jar();
    await signIn(a, alice);
    await signIn(b, alice);
    const tokenOfB = /name="_csrf" value="([^"]+)"/.exec(await (await web("/probe", { jar: b })).text())![1]!;
    const res = await web("/probe", { jar: a, method: "POST", headers: { "X-CSRF-Token": tokenOfB } });
    expect(res.status).toBe(403);
  });
});

describe("/token (API token through ThreeFold Connect)", () => {
  it("mints a registered token shown once on the page, never in a URL, without signing the browser in", async () => {
    const jar = new Jar();
    const params = await startSignin(jar, "/token");
    expect(params.get("redirecturl")).toBe("/callback_token");
    const res = await web(callbackUrl(params, alice), { jar });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    const token = /<code id="token-value">([^<]+)<\/code>/.exec(html)![1]!;
    expect(jar.cookies.has("hub_session")).toBe(false);
    const me = await web("/api/flist/me", { headers: { Authorization: `bearer ${token}` } });
    expect(await me.json()).toEqual({ status: "success", payload: { username: "alice.3bot" } });
  });

  it("a session sign-in state cannot finish a token sign-in (and the other way round)", async () => {
    const jar = new Jar();
    const params = await startSignin(jar, "/login");
    params.set("redirecturl", "/callback_token");
    await refusedWith(await web(callbackUrl(params, alice), { jar }), 400, /not started in this browser/);
  });

  it("/token/<token> shows a token of this hub and refuses anything else", async () => {
    const token = await signToken(webEnv.HUB_SIGNING_SEED, "alice.3bot");
    const shown = await web(`/token/${token}`);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("Cache-Control")).toBe("no-store");
    expect(await shown.text()).toContain(`<code id="token-value">${token}</code>`);
    await refusedWith(await web("/token/not-a-token"), 400, /not an API token of this hub/);
  });
});

describe("local one-click sign-in", () => {
  const local = { HUB_LOCAL_SIGNIN_USER: "local" };

  it("is offered and works only on a loopback hub with the variable set", async () => {
    const jar = new Jar();
    const page = await web("http://127.0.0.1:8787/login-method?next=%2Faccount", { jar, envOverrides: local });
    const html = await page.text();
    expect(html).toContain("Sign in as local");
    const state = /name="state" value="([^"]+)"/.exec(html)![1]!;
    const res = await web("http://127.0.0.1:8787/login/local", {
      jar,
      envOverrides: local,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `state=${encodeURIComponent(state)}&next=%2Fevil`,
    });
    expect(res.status).toBe(303);
    // `next` comes from the signed state, not from the form.
    expect(res.headers.get("Location")).toBe("/account");
    expect(jar.cookies.has("hub_session")).toBe(true);
  });

  it("is neither offered nor accepted elsewhere", async () => {
    const page = await (await web("/login-method", { envOverrides: local })).text();
    expect(page).not.toContain("Sign in as");
    const off = await (await web("http://127.0.0.1:8787/login-method")).text();
    expect(off).not.toContain("Sign in as");
    const res = await web("/login/local", { envOverrides: local, method: "POST", body: new FormData() });
    await refusedWith(res, 403, /only on a hub running on this machine/);
    const published = await web("http://127.0.0.1:8787/login/local", {
      envOverrides: { ...local, HUB_PUBLIC_URL: "https://hub.grid.tf" },
      method: "POST",
      body: new FormData(),
    });
    expect(published.status).toBe(403);
  });

  it("refuses a form without this browser's state", async () => {
    const res = await web("http://127.0.0.1:8787/login/local", {
      jar: new Jar(),
      envOverrides: local,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "state=abc",
    });
    await refusedWith(res, 400, /out of date/);
  });
});

void HUB;
