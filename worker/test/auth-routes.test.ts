/** The token-revocation and membership management routes (worker/src/auth/routes.ts). */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import { OTHER_SEED, bearer, call, env, internalHeaders, migrate, now, tokenFor } from "./auth-support";

beforeAll(migrate);

const json = (body: unknown, headers: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function errorOf(res: Response): Promise<{ status: number; message: string }> {
  const body = (await res.json()) as { status: string; message: string };
  expect(body.status).toBe("error");
  return { status: res.status, message: body.message };
}

describe("POST /api/flist/me/tokens/revoke", () => {
  it("revokes one of the caller's own tokens and stores only its SHA-256", async () => {
    const victim = await tokenFor("self-rev", now() - 20);
    const caller = await tokenFor("self-rev", now() - 10);
    const res = await call("/api/flist/me/tokens/revoke", json({ token: victim }, { Authorization: `Bearer ${caller}` }));
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ status: "success", payload: { user: "self-rev", revoked: 1 } });
    // Revoking twice is fine (idempotent).
    expect(
      (await call("/api/flist/me/tokens/revoke", json({ token: victim }, { Authorization: `Bearer ${caller}` }))).status,
    ).toBe(200);

    const rows = await env.DB.prepare("SELECT * FROM auth_revoked_tokens WHERE user = 'self-rev'").all();
    expect(rows.results).toHaveLength(1);
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(victim);
    expect(dump).not.toContain(victim.slice(0, 40));
    const bytes = Uint8Array.from(atob(victim.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    expect(rows.results[0]).toMatchObject({ token_sha256: digest, user: "self-rev" });
  });

  it("refuses another user's token (403), a foreign or junk token (400), bad JSON and bad shapes (400)", async () => {
    const caller = await tokenFor("rev-caller");
    const auth = { Authorization: `bearer ${caller}` };
    const someoneElse = await tokenFor("rev-someone");
    expect(await errorOf(await call("/api/flist/me/tokens/revoke", json({ token: someoneElse }, auth)))).toEqual({
      status: 403,
      message: "this token belongs to another user",
    });
    const foreign = await signToken(OTHER_SEED, "rev-caller", now());
    expect((await errorOf(await call("/api/flist/me/tokens/revoke", json({ token: foreign }, auth)))).status).toBe(400);
    expect((await errorOf(await call("/api/flist/me/tokens/revoke", json({ token: "junk" }, auth)))).status).toBe(400);
    expect(await errorOf(await call("/api/flist/me/tokens/revoke", json("{not json", auth)))).toEqual({
      status: 400,
      message: "malformed json request",
    });
    for (const body of [{}, { all: false }, { all: true, token: caller }, { token: "" }, [caller], { user: "x", all: true }]) {
      expect((await errorOf(await call("/api/flist/me/tokens/revoke", json(body, auth)))).status, JSON.stringify(body)).toBe(
        400,
      );
    }
    // Nothing of the above revoked anything: the caller and the other user still authenticate.
    expect((await call("/api/flist/me", bearer(caller))).status).toBe(200);
    expect((await call("/api/flist/me", bearer(someoneElse))).status).toBe(200);
  });

  it("{all: true} answers the stored not-before and revokes the calling token too", async () => {
    const caller = await tokenFor("rev-all-self", now() - 5);
    const res = await call("/api/flist/me/tokens/revoke", json({ all: true }, { Authorization: `bearer ${caller}` }));
    const body = (await res.json()) as { payload: { user: string; notBefore: number } };
    expect(res.status).toBe(200);
    expect(body.payload.user).toBe("rev-all-self");
    expect(Math.abs(body.payload.notBefore - now())).toBeLessThan(5);
    expect((await call("/api/flist/me", bearer(caller))).status).toBe(401);
  });

  it("needs authentication like every /api/flist/me route", async () => {
    expect((await errorOf(await call("/api/flist/me/tokens/revoke", json({ all: true }, {})))).status).toBe(401);
  });
});

describe("/internal admin routes", () => {
  it("require Bearer INTERNAL_SECRET", async () => {
    const paths: [string, string][] = [
      ["PUT", "/internal/members/acme/alice"],
      ["DELETE", "/internal/members/acme/alice"],
      ["GET", "/internal/members/acme"],
      ["GET", "/internal/users/alice/repositories"],
      ["POST", "/internal/tokens/revoke"],
    ];
    const userToken = await tokenFor("acme");
    for (const [method, path] of paths) {
      expect((await errorOf(await call(path, { method }))).status, `${method} ${path}`).toBe(401);
      expect((await errorOf(await call(path, { method, headers: { Authorization: "Bearer wrong" } }))).status).toBe(401);
      expect(
        (await errorOf(await call(path, { method, headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}x` } }))).status,
      ).toBe(401);
      // An API token is not the internal secret.
      expect((await errorOf(await call(path, { method, ...bearer(userToken) }))).status).toBe(401);
      expect((await errorOf(await call(path, { method, headers: { Authorization: env.INTERNAL_SECRET } }))).status).toBe(400);
      // Without a configured secret the internal routes are closed, even to an empty bearer.
      expect(
        (await errorOf(await call(path, { method, headers: { Authorization: "Bearer " } }, { INTERNAL_SECRET: "" }))).status,
      ).toBe(503);
    }
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM auth_memberships WHERE repository = 'acme'").first();
    expect(rows).toEqual({ n: 0 });
  });

  it("manage memberships: add (idempotent), list both ways, remove, 404 on a missing one", async () => {
    const put = () => call("/internal/members/team/u1", { method: "PUT", headers: internalHeaders() });
    expect(await (await put()).json()).toStrictEqual({
      status: "success",
      payload: { repository: "team", user: "u1", added: true },
    });
    expect(((await (await put()).json()) as { payload: { added: boolean } }).payload.added).toBe(false);
    await call("/internal/members/team/u0", { method: "PUT", headers: internalHeaders() });
    await call("/internal/members/other-team/u1", { method: "PUT", headers: internalHeaders() });

    expect(await (await call("/internal/members/team", { headers: internalHeaders() })).json()).toStrictEqual({
      status: "success",
      payload: { repository: "team", members: ["u0", "u1"] },
    });
    expect(await (await call("/internal/users/u1/repositories", { headers: internalHeaders() })).json()).toStrictEqual({
      status: "success",
      payload: { user: "u1", repositories: ["other-team", "team"] },
    });

    expect((await call("/internal/members/team/u1", { method: "DELETE", headers: internalHeaders() })).status).toBe(200);
    expect(
      (await errorOf(await call("/internal/members/team/u1", { method: "DELETE", headers: internalHeaders() }))).status,
    ).toBe(404);
    expect(await (await call("/internal/members/team", { headers: internalHeaders() })).json()).toStrictEqual({
      status: "success",
      payload: { repository: "team", members: ["u0"] },
    });
  });

  it("reject bad names with a clear 400 and store nothing", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM auth_memberships").first();
    // (`..` itself cannot reach a route: URL parsing resolves it, `%2E%2E` included, before routing.)
    for (const [path, message] of [
      ["/internal/members/a%2Fb/u", 'invalid repository: name "a/b" is not allowed: it contains a slash'],
      ["/internal/members/ok/bad%01name", 'invalid user: name "bad\\u0001name" is not allowed: it contains a control character (U+0001)'],
      [`/internal/members/${"x".repeat(256)}/u`, `invalid repository: name "${"x".repeat(64)}…" is not allowed: it is longer than 255 bytes in UTF-8`],
      ["/internal/members/same/same", "a user always acts as its own repository"],
    ] as const) {
      expect(await errorOf(await call(path, { method: "PUT", headers: internalHeaders() })), path).toEqual({
        status: 400,
        message,
      });
    }
    expect(await env.DB.prepare("SELECT count(*) AS n FROM auth_memberships").first()).toEqual(before);
  });

  it("revoke any token, all tokens of a user, or tokens before a given time", async () => {
    const t1 = await tokenFor("adm-1", now() - 100);
    const res1 = await call("/internal/tokens/revoke", json({ token: t1 }, internalHeaders()));
    expect(await res1.json()).toStrictEqual({ status: "success", payload: { user: "adm-1", revoked: 1 } });
    expect((await call("/api/flist/me", bearer(t1))).status).toBe(401);

    const old = await tokenFor("adm-2", 1000);
    const newer = await tokenFor("adm-2", 3000);
    const res2 = await call("/internal/tokens/revoke", json({ user: "adm-2", notBefore: 2000 }, internalHeaders()));
    expect(await res2.json()).toStrictEqual({ status: "success", payload: { user: "adm-2", notBefore: 2000 } });
    expect((await call("/api/flist/me", bearer(old))).status).toBe(401);
    expect((await call("/api/flist/me", bearer(newer))).status).toBe(200);
    // "not before" never moves backwards.
    const res3 = await call("/internal/tokens/revoke", json({ user: "adm-2", notBefore: 10 }, internalHeaders()));
    expect(((await res3.json()) as { payload: { notBefore: number } }).payload.notBefore).toBe(2000);

    const t3 = await tokenFor("adm-3", now() - 1);
    expect((await call("/internal/tokens/revoke", json({ user: "adm-3", all: true }, internalHeaders()))).status).toBe(200);
    expect((await call("/api/flist/me", bearer(t3))).status).toBe(401);

    for (const body of [{}, { token: "junk" }, { user: "x" }, { user: "x", notBefore: -1 }, { user: "a/b", all: true }]) {
      expect((await errorOf(await call("/internal/tokens/revoke", json(body, internalHeaders())))).status).toBe(400);
    }
  });
});
