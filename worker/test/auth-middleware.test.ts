/**
 * requireActor(): the original `@apicall` order (docs/compatibility.md §4.2) plus expiry, revocation and membership,
 * exercised through the real middleware and the real auth routes on a D1 with the real migrations.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import {
  OTHER_SEED,
  SEED,
  addMembership,
  bearer,
  call,
  internalHeaders,
  migrate,
  now,
  tokenFor,
  env,
} from "./auth-support";

beforeAll(migrate);

async function expectError(res: Response, status: number, message: string | RegExp): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { status: string; message: string };
  expect(body.status).toBe("error");
  if (typeof message === "string") expect(body.message).toBe(message);
  else expect(body.message).toMatch(message);
}

async function actorOf(res: Response): Promise<{ user: string; repository: string }> {
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { payload: { user: string; repository: string } }).payload;
}

describe("@apicall order", () => {
  it("readonly answers 400 before anything else, even for valid tokens and on /api/flist/me", async () => {
    const t = await tokenFor("ro-user");
    await expectError(await call("/probe", bearer(t), { HUB_READONLY: "true" }), 400, "readonly mode");
    await expectError(await call("/probe", {}, { HUB_READONLY: "true" }), 400, "readonly mode");
    await expectError(await call("/api/flist/me", bearer(t), { HUB_READONLY: "true" }), 400, "readonly mode");
    expect((await call("/probe", bearer(t), { HUB_READONLY: "false" })).status).toBe(200);
  });

  it("no Authorization header → 401 no authorization provided", async () => {
    await expectError(await call("/probe"), 401, "no authorization provided");
    // An empty header is "no authorization" too, as the original's `not request.headers.get(...)`.
    await expectError(await call("/probe", { headers: { Authorization: "" } }), 401, "no authorization provided");
    // A browser cookie session never authenticates /api/flist/me/*.
    await expectError(
      await call("/probe", { headers: { Cookie: "session=abc; active-user=cookie-user" } }),
      401,
      "no authorization provided",
    );
  });

  it("a header that is not `bearer <token>` → 400 invalid authorization header", async () => {
    const t = await tokenFor("hdr-user");
    for (const h of [`token ${t}`, `Basic ${t}`, "bearer", `Bearer\t${t}`, `bearer:${t}`, t]) {
      await expectError(await call("/probe", { headers: { Authorization: h } }), 400, "invalid authorization header");
    }
  });

  it("accepts the scheme in any case", async () => {
    const t = await tokenFor("case-user");
    for (const scheme of ["bearer", "Bearer", "BEARER", "bEaReR"]) {
      const res = await call("/probe", { headers: { Authorization: `${scheme} ${t}` } });
      expect(await actorOf(res)).toEqual({ user: "case-user", repository: "case-user" });
    }
  });

  it("bad signature, undecodable token, another seed → 401 invalid signature", async () => {
    const t = await tokenFor("sig-user");
    const flipped = (t[10] === "A" ? "B" : "A") + "";
    const bad = t.slice(0, 10) + flipped + t.slice(11);
    const cases = [
      bad,
      "not-a-token",
      "!!!!",
      // (an empty token cannot be sent: HTTP trims `bearer ` to `bearer`, which is a malformed header)
      t.replace(/=+$/, "") + "x", // broken padding
      await signToken(OTHER_SEED, "sig-user", now()),
      "eyJhbGciOiJFUzM4NCJ9.eyJ1c2VybmFtZSI6ImEifQ.c2ln", // itsyou.online JWTs are not accepted any more
    ];
    for (const token of cases) {
      await expectError(await call("/probe", bearer(token)), 401, "invalid signature");
    }
  });

  it("a misconfigured signing seed is a 500 JSON error, not an authentication", async () => {
    const t = await tokenFor("cfg-user");
    await expectError(await call("/probe", bearer(t), { HUB_SIGNING_SEED: "" }), 500, /signing key/);
    await expectError(await call("/probe", bearer(t), { HUB_SIGNING_SEED: "zz" }), 500, /signing key/);
  });
});

describe("expiry (HUB_TOKEN_MAX_AGE)", () => {
  it("0 means tokens never expire, as the original", async () => {
    const ancient = await signToken(SEED, "old-user", 1679215770);
    expect(await actorOf(await call("/probe", bearer(ancient), { HUB_TOKEN_MAX_AGE: "0" }))).toEqual({
      user: "old-user",
      repository: "old-user",
    });
  });

  it("refuses tokens older than the max age with 401 token expired", async () => {
    const old = await signToken(SEED, "exp-user", now() - 3700);
    const fresh = await signToken(SEED, "exp-user", now() - 60);
    await expectError(await call("/probe", bearer(old), { HUB_TOKEN_MAX_AGE: "3600" }), 401, "token expired");
    expect((await call("/probe", bearer(fresh), { HUB_TOKEN_MAX_AGE: "3600" })).status).toBe(200);
    // Expiry comes after the signature check: a forged old token is still "invalid signature".
    const forged = await signToken(OTHER_SEED, "exp-user", now() - 3700);
    await expectError(await call("/probe", bearer(forged), { HUB_TOKEN_MAX_AGE: "3600" }), 401, "invalid signature");
  });

  it("a malformed max age refuses every call instead of disabling expiry", async () => {
    const t = await tokenFor("exp-cfg-user");
    await expectError(await call("/probe", bearer(t), { HUB_TOKEN_MAX_AGE: "30d" }), 500, /HUB_TOKEN_MAX_AGE/);
    await expectError(await call("/probe", bearer(t), { HUB_TOKEN_MAX_AGE: "-1" }), 500, /HUB_TOKEN_MAX_AGE/);
  });
});

describe("tokens from the future (HUB_TOKEN_MAX_SKEW_SECONDS)", () => {
  const TEN_YEARS = 10 * 365 * 24 * 3600;

  it("refuses a token dated 10 years ahead with a clear 401, whatever the max age", async () => {
    const future = await tokenFor("skew-user", now() + TEN_YEARS);
    const message = /^token issued in the future: its timestamp is \d+ s ahead of the hub's clock \(at most 300 s allowed, HUB_TOKEN_MAX_SKEW_SECONDS\)$/;
    await expectError(await call("/probe", bearer(future)), 401, message);
    await expectError(await call("/probe", bearer(future), { HUB_TOKEN_MAX_AGE: "3600" }), 401, message);
    await expectError(await call("/api/flist/me", bearer(future)), 401, message);
  });

  it("accepts a client clock a minute ahead (the default allows 300 s)", async () => {
    expect(await actorOf(await call("/probe", bearer(await tokenFor("skew-user", now() + 60))))).toEqual({
      user: "skew-user",
      repository: "skew-user",
    });
    expect((await call("/probe", bearer(await tokenFor("skew-user", now() + 280)))).status).toBe(200);
  });

  it("is configurable, and a malformed value refuses every call", async () => {
    const minute = await tokenFor("skew-user", now() + 60);
    await expectError(await call("/probe", bearer(minute), { HUB_TOKEN_MAX_SKEW_SECONDS: "30" }), 401, /at most 30 s allowed/);
    expect((await call("/probe", bearer(minute), { HUB_TOKEN_MAX_SKEW_SECONDS: "3600" })).status).toBe(200);
    await expectError(await call("/probe", bearer(await tokenFor("skew-user", now() + 5)), { HUB_TOKEN_MAX_SKEW_SECONDS: "0" }), 401, /at most 0 s/);
    await expectError(await call("/probe", bearer(minute), { HUB_TOKEN_MAX_SKEW_SECONDS: "5m" }), 500, /HUB_TOKEN_MAX_SKEW_SECONDS/);
  });

  it("a revoke-all reaches a token the skew lets through", async () => {
    const ahead = await tokenFor("skew-revoke", now() + 120);
    expect((await call("/probe", bearer(ahead))).status).toBe(200);
    expect((await call("/api/flist/me/tokens/revoke", { method: "POST", headers: { Authorization: `bearer ${await tokenFor("skew-revoke")}` }, body: '{"all": true}' })).status).toBe(200);
    // "not before" is now; the token is later: still valid (the skew is small by design), but a 10-year token never was.
    expect((await call("/probe", bearer(ahead))).status).toBe(200);
    await expectError(await call("/probe", bearer(await tokenFor("skew-revoke", now() + TEN_YEARS))), 401, /in the future/);
  });
});

describe("revocation", () => {
  it("a single revoked token → 401 token revoked; the user's other tokens keep working", async () => {
    const a = await tokenFor("rev-one", now() - 20);
    const b = await tokenFor("rev-one", now() - 10);
    const res = await call("/api/flist/me/tokens/revoke", {
      method: "POST",
      headers: { Authorization: `bearer ${b}`, "Content-Type": "application/json" },
      body: JSON.stringify({ token: a }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await expectError(await call("/probe", bearer(a)), 401, "token revoked");
    await expectError(await call("/api/flist/me", bearer(a)), 401, "token revoked");
    expect((await call("/probe", bearer(b))).status).toBe(200);
    // The same token spelt differently (case of the scheme) is still revoked.
    await expectError(await call("/probe", { headers: { Authorization: `BEARER ${a}` } }), 401, "token revoked");
  });

  it("revoke all (not before) → every earlier token of that user is refused, later ones and other users are not", async () => {
    const early = await tokenFor("rev-all", now() - 30);
    const other = await tokenFor("rev-all-bystander", now() - 30);
    const res = await call("/api/flist/me/tokens/revoke", {
      method: "POST",
      headers: { Authorization: `bearer ${early}`, "Content-Type": "application/json" },
      body: JSON.stringify({ all: true }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await expectError(await call("/probe", bearer(early)), 401, "token revoked");
    expect((await call("/probe", bearer(other))).status).toBe(200);
    const later = await tokenFor("rev-all", now() + 1);
    expect((await call("/probe", bearer(later))).status).toBe(200);
  });

  it("expiry is checked before revocation", async () => {
    const t = await tokenFor("rev-exp", now() - 100);
    await call("/internal/tokens/revoke", {
      method: "POST",
      headers: internalHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ token: t }),
    });
    await expectError(await call("/probe", bearer(t), { HUB_TOKEN_MAX_AGE: "50" }), 401, "token expired");
    await expectError(await call("/probe", bearer(t)), 401, "token revoked");
  });
});

describe("acting repository (active-user cookie, X-Hub-Repository header)", () => {
  it("defaults to the token's user, and a user may always name itself", async () => {
    const t = await tokenFor("solo");
    expect(await actorOf(await call("/probe", bearer(t)))).toEqual({ user: "solo", repository: "solo" });
    expect(await actorOf(await call("/probe", bearer(t, { Cookie: "active-user=solo" })))).toEqual({
      user: "solo",
      repository: "solo",
    });
    expect(await actorOf(await call("/probe", bearer(t, { "X-Hub-Repository": "solo" })))).toEqual({
      user: "solo",
      repository: "solo",
    });
  });

  it("a repository the user is not a member of → 403", async () => {
    const t = await tokenFor("outsider");
    await expectError(await call("/probe", bearer(t, { Cookie: "active-user=acme" })), 403, /not a member/);
    await expectError(await call("/probe", bearer(t, { "X-Hub-Repository": "acme" })), 403, /not a member/);
    await expectError(await call("/api/flist/me", bearer(t, { Cookie: "active-user=acme" })), 403, /not a member/);
  });

  it("membership lets the user act for the organisation, by cookie or header; removal takes it away", async () => {
    await addMembership("org-one", "member-a");
    const t = await tokenFor("member-a");
    expect(await actorOf(await call("/probe", bearer(t, { Cookie: "theme=dark; active-user=org-one" })))).toEqual({
      user: "member-a",
      repository: "org-one",
    });
    expect(await actorOf(await call("/probe", bearer(t, { "X-Hub-Repository": "org-one" })))).toEqual({
      user: "member-a",
      repository: "org-one",
    });
    // The header is the explicit choice and wins over a cookie left in a browser.
    expect(
      await actorOf(await call("/probe", bearer(t, { Cookie: "active-user=nowhere", "X-Hub-Repository": "org-one" }))),
    ).toEqual({ user: "member-a", repository: "org-one" });
    // Membership is per user: another user's token cannot use it.
    const stranger = await tokenFor("member-b");
    await expectError(await call("/probe", bearer(stranger, { Cookie: "active-user=org-one" })), 403, /not a member/);

    const del = await call("/internal/members/org-one/member-a", { method: "DELETE", headers: internalHeaders() });
    expect(del.status).toBe(200);
    await expectError(await call("/probe", bearer(t, { Cookie: "active-user=org-one" })), 403, /not a member/);
  });

  it("revocation is checked before membership", async () => {
    await addMembership("org-two", "member-c");
    const t = await tokenFor("member-c", now() - 40);
    await call("/internal/tokens/revoke", {
      method: "POST",
      headers: internalHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ user: "member-c", all: true }),
    });
    await expectError(await call("/probe", bearer(t, { Cookie: "active-user=org-two" })), 401, "token revoked");
  });
});

describe("GET /api/flist/me (zflist hub, 0-hub-gw)", () => {
  it("answers exactly {status, payload: {username}} for a lower-case bearer and no cookie", async () => {
    const t = await tokenFor("gw-user");
    const res = await call("/api/flist/me", { headers: { Authorization: `bearer ${t}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ status: "success", payload: { username: "gw-user" } });
  });

  it("answers the acting repository as username when active-user selects one (zflist hub username)", async () => {
    await addMembership("gw-org", "gw-member");
    const t = await tokenFor("gw-member");
    const res = await call("/api/flist/me", bearer(t, { Cookie: "active-user=gw-org" }));
    expect(await res.json()).toStrictEqual({ status: "success", payload: { username: "gw-org" } });
  });

  it("answers a JSON body with status error for any bad token (0-hub-gw denies on that)", async () => {
    for (const init of [{}, { headers: { Authorization: "nope" } }, bearer("garbage")]) {
      const res = await call("/api/flist/me", init);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(((await res.json()) as { status: string }).status).toBe("error");
    }
  });
});

it("does not depend on the test env being the production one", () => {
  // Guards the assumptions above: the default vars are those of wrangler.toml.
  expect(env.HUB_READONLY).toBe("false");
  expect(env.HUB_TOKEN_MAX_AGE).toBe("0");
  expect(env.HUB_TOKEN_MAX_SKEW_SECONDS).toBe("300");
});
