/**
 * My account: acting repository switcher (memberships from the auth store), API tokens (create with a name
 * and lifetime, the value shown once, list, revoke) with the registry's expiry enforced by the API itself,
 * recent jobs, and CSRF on every form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addMembership, env, migrate } from "./auth-support";
import { Jar, publishUser, serveTfconnect, signIn, web } from "./web-signin-support";
import { createToken } from "../src/auth/registry";

let tf: ReturnType<typeof serveTfconnect>;
beforeAll(async () => {
  await migrate();
  tf = serveTfconnect();
});
afterAll(() => tf.restore());

const bob = publishUser("bob.3bot");
const carol = publishUser("carol.3bot");

function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
}

async function post(jar: Jar, path: string, fields: Record<string, string>, withCsrf = true): Promise<Response> {
  const page = await (await web("/account", { jar })).text();
  const body = new URLSearchParams(fields);
  if (withCsrf) body.set("_csrf", csrfOf(page));
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  return web(path, { jar, method: "POST", headers, body: body.toString() });
}

async function createViaPage(jar: Jar, name: string, lifetime = String(30 * 86400)): Promise<string> {
  const res = await post(jar, "/account/tokens", { name, lifetime });
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return /<code id="token-value">([^<]+)<\/code>/.exec(await res.text())![1]!;
}

const me = (token: string, extra: Record<string, string> = {}) =>
  web("/api/flist/me", { headers: { Authorization: `bearer ${token}`, ...extra } });

describe("/account", () => {
  it("needs a session", async () => {
    const res = await web("/account");
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/login-method?next=%2Faccount");
  });

  it("shows the user, the acting repository and no tokens yet", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const res = await web("/account", { jar });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain('id="account-user">bob.3bot<');
    expect(html).toContain('id="account-repository">bob.3bot<');
    expect(html).toContain('id="tokens-empty"');
    expect(html).toContain('id="jobs-empty"');
  });
});

describe("API tokens", () => {
  it("creates a named token shown once that works on the API, lists it without its value, and revokes it", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const token = await createViaPage(jar, "CI <pipeline>");
    expect(await (await me(token)).json()).toEqual({ status: "success", payload: { username: "bob.3bot" } });

    const list = await (await web("/account", { jar })).text();
    expect(list).toContain("CI &lt;pipeline&gt;");
    expect(list).not.toContain(token);
    const id = /data-token-id="([0-9a-f]{64})"/.exec(list)![1]!;

    const revoked = await post(jar, `/account/tokens/${id}/revoke`, {});
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get("Location")).toBe("/account?done=revoked#tokens");
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ status: "error", message: "token revoked" });
    expect(await (await web("/account", { jar })).text()).toContain(">revoked<");
  });

  it("two tokens made in the same second are distinct and revoked separately", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const a = await createViaPage(jar, "a");
    const b = await createViaPage(jar, "b");
    expect(a).not.toBe(b);
    const list = await (await web("/account", { jar })).text();
    const ids = [...list.matchAll(/data-token-id="([0-9a-f]{64})"/g)].map((m) => m[1]!);
    // Newest first: b then a.
    await post(jar, `/account/tokens/${ids[0]}/revoke`, {});
    expect((await me(b)).status).toBe(401);
    expect((await me(a)).status).toBe(200);
  });

  it("the API refuses a registered token past its own expiry", async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const { token } = await createToken(env.DB, env.HUB_SIGNING_SEED, "bob.3bot", "short", 3600, past);
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ status: "error", message: "token expired" });
    const live = await createToken(env.DB, env.HUB_SIGNING_SEED, "bob.3bot", "long", 3 * 3600, past);
    expect((await me(live.token)).status).toBe(200);
  });

  it("refuses a bad name or lifetime with the form again", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const empty = await post(jar, "/account/tokens", { name: "  ", lifetime: "86400" });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Give the token a name.");
    const odd = await post(jar, "/account/tokens", { name: "x", lifetime: "12345" });
    expect(odd.status).toBe(400);
    expect(await odd.text()).toContain("Pick one of the offered lifetimes.");
  });

  it("offers no lifetime beyond HUB_TOKEN_MAX_AGE", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const html = await (await web("/account", { jar, envOverrides: { HUB_TOKEN_MAX_AGE: String(30 * 86400) } })).text();
    expect(html).toContain("30 days");
    expect(html).not.toContain("90 days");
    expect(html).not.toContain("No expiry");
  });

  it("cannot revoke another user's token", async () => {
    const { record, token } = await createToken(env.DB, env.HUB_SIGNING_SEED, "carol.3bot", "carol's", null);
    const jar = new Jar();
    await signIn(jar, bob);
    const res = await post(jar, `/account/tokens/${record.id}/revoke`, {});
    expect(res.headers.get("Location")).toBe("/account?done=unknown-token#tokens");
    expect((await me(token)).status).toBe(200);
  });

  it("every form refuses a post without the CSRF token", async () => {
    const jar = new Jar();
    await signIn(jar, bob);
    const { record, token } = await createToken(env.DB, env.HUB_SIGNING_SEED, "bob.3bot", "victim", null);
    for (const [path, fields] of [
      ["/account/tokens", { name: "x", lifetime: "86400" }],
      [`/account/tokens/${record.id}/revoke`, {}],
      ["/account/repository", { repository: "bob.3bot" }],
    ] as const) {
      const res = await post(jar, path, fields, false);
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain("CSRF");
    }
    expect((await me(token)).status).toBe(200);
  });
});

describe("acting repository", () => {
  it("switches among the user's memberships only", async () => {
    await addMembership("acme", "carol.3bot");
    const jar = new Jar();
    await signIn(jar, carol);
    const before = await (await web("/account", { jar })).text();
    expect(before).toContain('<option value="acme"');
    const res = await post(jar, "/account/repository", { repository: "acme" });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/account?done=switched#repository");
    const probe = await (await web("/probe", { jar })).text();
    expect(probe).toContain("carol.3bot|acme");

    const refused = await post(jar, "/account/repository", { repository: "someone-else" });
    expect(refused.headers.get("Location")).toBe("/account?done=not-member#repository");
    expect(await (await web("/probe", { jar })).text()).toContain("carol.3bot|acme");
  });

  it("a membership removed after the switch takes effect at once", async () => {
    await addMembership("beta", "carol.3bot");
    const jar = new Jar();
    await signIn(jar, carol);
    await post(jar, "/account/repository", { repository: "beta" });
    expect(await (await web("/probe", { jar })).text()).toContain("carol.3bot|beta");
    const del = await web("/internal/members/beta/carol.3bot", {
      method: "DELETE",
      headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` },
    });
    expect(del.status).toBe(200);
    expect(await (await web("/probe", { jar })).text()).toContain("carol.3bot|carol.3bot");
  });
});

describe("recent jobs", () => {
  it("lists the acting repository's jobs", async () => {
    const now = Math.floor(Date.now() / 1000);
    await env.DB.prepare(
      `INSERT INTO jobs (id, kind, user, repository, name, status, progress, message, attempts, lease_until,
                         created, updated)
       VALUES ('job-1', 'tar', 'bob.3bot', 'bob.3bot', 'demo.flist', 'failed', 40, 'archive is not gzip', 1, ?1,
               ?1, ?1),
              ('job-2', 'merge', 'bob.3bot', 'bob.3bot', 'merged.flist', 'succeeded', 100, '', 1, ?1, ?1, ?1)`,
    )
      .bind(now)
      .run();
    const jar = new Jar();
    await signIn(jar, bob);
    const html = await (await web("/account", { jar })).text();
    expect(html).toContain('id="jobs-table"');
    expect(html).toContain("archive is not gzip");
    expect(html).toContain('href="/bob.3bot/merged.md"');
  });
});
