/**
 * The one name rule (docs/names.md) on every route that takes a name, through the whole Worker: each refused name
 * is a 400 that names the rule (control and bidi characters escaped, never raw) and leaves every D1 table and R2
 * untouched, with no job sent to the converter. `☃-é` keeps working everywhere a name may hold letters.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESERVED_REPOSITORY_NAMES } from "../src/names";
import { asUser, fetchHub, json, me, migrate, publish } from "./support/hub";
import { failJob, fakeArchive, jobRow, stubConverter, uploadForm, type ConverterStub } from "./support/jobs";
import { curlForm } from "./images-support";
import { signIn } from "./web-support";

/** A name as a client writes it into a header: its UTF-8 bytes (what HTTP carries), one Latin-1 char each. */
const asHeader = (s: string) => String.fromCharCode(...new TextEncoder().encode(s));
const seg = encodeURIComponent;

const BAD: [name: string, reason: string][] = [
  ["..\\..\\evil", "it contains a backslash"],
  ["a\u009bb", "it contains a control character (U+009B)"],
  ["a\u0085b", "it contains a control character (U+0085)"],
  ["evil\u202ecod.exe", "it contains a bidirectional text control (U+202E)"],
  ["a\u2066b", "it contains a bidirectional text control (U+2066)"],
];
const GOOD = "☃-é";
const V = "20260301_10:30";

const stub: ConverterStub = stubConverter();

// Jobs the positive cases start are ended (as their converter would), so no Queue delivery outlives the stub.
afterAll(async () => {
  const open = await env.DB.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all<{ id: string }>();
  for (const { id } of open.results) {
    await stub.waitForDispatch(id);
    await failJob(id, (await jobRow(id)).attempts, "test over");
  }
  stub.restore();
});

/** Every row of every table, and every R2 key: what "nothing changed" means. */
async function snapshot(): Promise<unknown> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
  ).all<{ name: string }>();
  const rows: Record<string, unknown[]> = {};
  for (const { name } of tables.results) rows[name] = (await env.DB.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()).results;
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.FLISTS.list({ cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { rows, keys };
}

/** Asserts a refusal: 400, the rule named, no raw control/bidi character in the message. */
async function refused(res: Response, what: string, name: string, reason: string): Promise<void> {
  const body = (await res.json()) as { status: string; message: string };
  expect(res.status, `${what}: ${JSON.stringify(body)}`).toBe(400);
  expect(body.status).toBe("error");
  expect(body.message, what).toContain(`is not allowed: ${reason}`);
  expect(body.message, what).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
  // Shown escaped, as JSON would (the flist routes show it with `.flist` added).
  if (reason === "it contains a backslash") expect(body.message).toContain(JSON.stringify(name).slice(0, -1));
}

beforeAll(async () => {
  await migrate();
  await publish("nr-src", "base", "main");
  await publish("nr-me", "app", "main");
  await fetchHub("/api/flist/me/app/link/lnk", { headers: await asUser("nr-me") });
});

describe("refused names change nothing, on every route", () => {
  for (const [bad, reason] of BAD) {
    it(`${JSON.stringify(bad)}: ${reason}`, async () => {
      const before = await snapshot();
      const calls = stub.calls.length;
      const auth = await asUser("nr-me");
      const b = seg(bad);
      const routes: [string, string, RequestInit?][] = [
        ["link name", `/api/flist/me/app/link/${b}`],
        ["link source", `/api/flist/me/${b}/link/x`],
        ["crosslink name", `/api/flist/me/${b}/crosslink/nr-src/base`],
        ["crosslink repository", `/api/flist/me/x/crosslink/${b}/base`],
        ["crosstag name", `/api/flist/me/${b}/crosstag/nr-src/t`],
        ["crosstag tag", `/api/flist/me/x/crosstag/nr-src/${b}`],
        ["tag", `/api/flist/me/${b}/lnk/tag/nr-src/base`],
        ["tag member", `/api/flist/me/t/${b}/tag/nr-src/base`],
        ["rename target", `/api/flist/me/app/rename/${b}`],
        ["rename source", `/api/flist/me/${b}/rename/x`],
        ["promote target", `/api/flist/me/promote/nr-src/base/${b}`],
        ["promote source", `/api/flist/me/promote/nr-src/${b}/x`],
        ["promote repository", `/api/flist/me/promote/${b}/base/x`],
        ["delete", `/api/flist/me/${b}`, { method: "DELETE" }],
        ["restore", `/api/flist/me/${b}/restore/1`, { method: "POST" }],
        ["lxd", `/api/flist/me/${b}/lxd`, { method: "POST" }],
        ["merge target", `/api/flist/me/merge/${b}`, { method: "POST", body: '["nr-src/base"]' }],
        ["merge source", "/api/flist/me/merge/t", { method: "POST", body: JSON.stringify([`nr-src/${bad}`]) }],
        ["merge source repository", "/api/flist/me/merge/t", { method: "POST", body: JSON.stringify([`${bad}/base`]) }],
        ["docker name", "/api/flist/me/docker", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image: bad }) }],
        ["upload X-Original-Name", "/api/flist/me/upload", { method: "POST", headers: { "X-Original-Name": asHeader(`/tmp/${bad}.tar.gz`) }, body: uploadForm(await fakeArchive(), "ok.tar.gz") }],
        ["upload-flist X-Original-Name", "/api/flist/me/upload-flist", { method: "POST", headers: { "X-Original-Name": asHeader(`${bad}.flist`) }, body: uploadForm(await fakeArchive(), "ok.flist") }],
        ["streamed PUT X-Original-Name", "/api/flist/me/upload/ok.tar.gz", { method: "PUT", headers: { "X-Original-Name": asHeader(`${bad}.tar.gz`), "Content-Length": "40" }, body: new Uint8Array(40) }],
        ["resumable X-Original-Name", "/api/flist/me/uploads", { method: "POST", headers: { "X-Original-Name": asHeader(`${bad}.tar.gz`) }, body: JSON.stringify({ filename: "ok.tar.gz" }) }],
        ["image path segment", `/api/images/alpine/${b}/amd64/default/${V}/rootfs.squashfs`, { method: "PUT", headers: { "Content-Length": "8" }, body: new Uint8Array(8) }],
        ["image version JSON", "/api/images/versions", { method: "POST", body: JSON.stringify({ os: bad, release: "3.20", arch: "amd64", version: V }) }],
        ["image catalog repository", `/api/images?repository=${b}`],
        ["public listing", `/api/flist/${b}`],
        ["public contents", `/api/flist/nr-src/${b}`],
        ["download", `/${b}/base.flist`],
        ["download name", `/nr-src/${b}.flist`],
        ["internal publish repository", `/internal/publish/${b}/x`, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } }],
        ["internal publish name", `/internal/publish/nr-src/${b}`, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } }],
        ["organisation", `/internal/members/${b}/bob`, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } }],
        ["member", `/internal/members/team/${b}`, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } }],
      ];
      for (const [what, path, init = {}] of routes) {
        const headers = { ...(path.startsWith("/internal/") ? {} : auth), ...(init.headers as Record<string, string> | undefined) };
        const res = await fetchHub(path, { ...init, headers });
        if (what === "docker name") {
          // The image reference grammar refuses it first (it is stricter than the name rule).
          expect(res.status, what).toBe(400);
          expect(((await res.json()) as { message: string }).message).toMatch(/^invalid image reference/);
          continue;
        }
        await refused(res, what, bad, reason);
      }

      const curl = curlForm(`alpine/${bad}/amd64/default/${V}/rootfs.squashfs`, new Uint8Array(8));
      await refused(await fetchHub("/images", { method: "POST", headers: { ...auth, ...curl.headers }, body: curl.body }), "image upload path", bad, reason);

      // The acting repository, from the header, the cookie or the token's own user.
      await refused(await fetchHub("/api/flist/me/app/link/x", { headers: { ...auth, "X-Hub-Repository": asHeader(bad) } }), "X-Hub-Repository", bad, reason);
      await refused(await fetchHub("/api/flist/me/app/link/x", { headers: { ...auth, Cookie: `active-user=${seg(bad)}` } }), "active-user", bad, reason);
      await refused(await fetchHub("/api/flist/me/app/link/x", { headers: await asUser(bad) }), "token user", bad, reason);

      // The website's merge form.
      const session = await signIn("nr-me");
      const web = await fetchHub("/merge", {
        method: "POST",
        headers: { Cookie: session.cookie, "X-CSRF-Token": session.csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ sources: ["nr-src/base"], name: bad }),
      });
      await refused(web, "website merge", bad, reason);
      await refused(
        await fetchHub(`/nr-me/${b}.flist.html/restore`, { method: "POST", headers: { Cookie: session.cookie, "X-CSRF-Token": session.csrf } }),
        "website restore",
        bad,
        reason,
      );

      expect(await snapshot()).toEqual(before);
      expect(stub.calls.length).toBe(calls);
    });
  }

});

describe("labels people read (the display part of the rule)", () => {
  it("a token name or an image title with bidi or C1 characters is refused, and nothing is stored", async () => {
    const before = await snapshot();
    const session = await signIn("nr-labels");
    for (const name of ["evil\u202eexe.cod", "a\u009bb", "a\u2028b"]) {
      const res = await fetchHub("/account/tokens", {
        method: "POST",
        headers: { Cookie: session.cookie, "X-CSRF-Token": session.csrf, "Content-Type": "application/x-www-form-urlencoded", Accept: "text/html" },
        body: new URLSearchParams({ name, lifetime: "never" }).toString(),
      });
      expect(res.status, name).toBe(400);
      expect(await res.text()).toContain("A token name cannot contain control, bidirectional-text or line-separator characters.");
    }
    const res = await fetchHub("/api/images/versions", {
      method: "POST",
      headers: await asUser("nr-labels"),
      body: JSON.stringify({ os: "alpine", release: "3.20", arch: "amd64", version: V, metadata: { release_title: "Alpine\u202e" } }),
    });
    expect(await res.json()).toEqual({
      status: "error",
      message: "invalid request: metadata.release_title: release_title: no control, bidirectional-text or line-separator characters",
    });
    expect(await snapshot()).toEqual(before);
  });
});

describe("reserved route words as repository names", () => {
  it("a token of `me` or any route word cannot act, and nothing is created", async () => {
    const before = await snapshot();
    for (const word of RESERVED_REPOSITORY_NAMES) {
      const res = await fetchHub("/api/flist/me/x/crosslink/nr-src/base", { headers: await asUser(word) });
      expect(await res.json(), word).toEqual({
        status: "error",
        message: `invalid repository (the token's user): name ${JSON.stringify(word)} is not allowed: it is reserved for the hub's own routes`,
      });
      expect(res.status).toBe(400);
    }
    const whoami = await json("/api/flist/me", { headers: await asUser("me") });
    expect(whoami.status).toBe(400);
    for (const [header, value] of [
      [{ "X-Hub-Repository": "me" }, "me"],
      [{ "X-Hub-Repository": "api" }, "api"],
      [{ Cookie: "active-user=static" }, "static"],
    ] as const) {
      const res = await fetchHub("/api/flist/me/x/crosslink/nr-src/base", { headers: { ...(await asUser("nr-me")), ...header } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain(`name "${value}" is not allowed: it is reserved`);
    }
    for (const path of ["/internal/members/me/bob", "/internal/members/images/bob", "/internal/publish/api/x"]) {
      const res = await fetchHub(path, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/^invalid repo(sitory)?: name "\w+" is not allowed: it is reserved/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("reading a repository named like a route word is no error, and `me` is only ever the caller", async () => {
    expect((await json("/api/flist/streams")).status).toBe(404);
    expect((await json("/api/flist/me", { headers: await asUser("nr-me") })).body).toEqual({ status: "success", payload: { username: "nr-me" } });
  });

  it("the website does not sign in, or keep signed in, a user named like a route word", async () => {
    const session = await signIn("me");
    const account = await fetchHub("/account", { headers: { Cookie: session.cookie, Accept: "text/html" }, redirect: "manual" });
    expect(account.status).toBe(302);
    expect(account.headers.get("Location")).toMatch(/^\/login-method/);
    const local = { ...env, HUB_LOCAL_SIGNIN_USER: "me" };
    const { app } = await import("../src/app");
    const page = await app.fetch(new Request("http://127.0.0.1:8787/login-method"), local);
    expect(await page.text()).not.toContain("Sign in as");
  });
});

describe(`${GOOD}: Unicode letters keep working`, () => {
  it("as link, tag, rename and promote names, read back as such", async () => {
    const u = seg(GOOD);
    for (const path of [`/${u}/crosslink/nr-src/base`, `/${u}t/lnk/tag/nr-src/base`, `/promote/nr-src/base/${u}-p`]) {
      const res = await me("nr-good", path);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    expect((await me("nr-good", `/${u}-p/rename/${u}-r`)).status).toBe(200);
    expect((await me("nr-good", `/${u}-r/link/${u}-l`)).status).toBe(200);
    const listing = (await json(`/api/flist/nr-good`)).body as { name: string }[];
    expect(listing.map((e) => e.name).sort()).toEqual([`${GOOD}-l.flist`, `${GOOD}-r.flist`, `${GOOD}.flist`, `${GOOD}t`].sort());
    expect((await json(`/api/flist/nr-good/${u}-r/light`)).status).toBe(200);
  });

  it("as X-Original-Name (UTF-8 bytes), as a repository (token user and X-Hub-Repository) and in the website", async () => {
    const upload = await fetchHub("/api/flist/me/upload?async=1", {
      method: "POST",
      headers: await asUser("nr-up", { "X-Original-Name": asHeader(`/home/u/${GOOD}.tar.gz`) }),
      body: uploadForm(await fakeArchive(), "ignored.tar.gz"),
    });
    expect(upload.status).toBe(202);
    expect(((await upload.json()) as { payload: { name: string } }).payload.name).toBe(`${GOOD}.flist`);

    expect((await me(GOOD, "/x/crosslink/nr-src/base")).status).toBe(200);
    expect((await json(`/api/flist/${seg(GOOD)}/x/light`)).body).toMatchObject({ type: "symlink", target: "../nr-src/base.flist" });
    expect((await fetchHub(`/internal/members/${seg(GOOD)}/nr-org`, { method: "PUT", headers: { Authorization: `Bearer ${env.INTERNAL_SECRET}` } })).status).toBe(200);
    const asOrg = await fetchHub("/api/flist/me", { headers: await asUser("nr-org", { "X-Hub-Repository": asHeader(GOOD) }) });
    expect(await asOrg.json()).toEqual({ status: "success", payload: { username: GOOD } });

    const session = await signIn("nr-web");
    const merge = await fetchHub("/merge", {
      method: "POST",
      headers: { Cookie: session.cookie, "X-CSRF-Token": session.csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ sources: [`${GOOD}/x`], name: GOOD }),
    });
    expect(merge.status).toBe(202);
    expect(((await merge.json()) as { payload: { name: string } }).payload.name).toBe(`${GOOD}.flist`);
  });

  it("the form's file name goes through secure_filename: control and bidi characters are dropped, not stored", async () => {
    const res = await fetchHub("/api/flist/me/upload?async=1", {
      method: "POST",
      headers: await asUser("nr-form"),
      body: uploadForm(await fakeArchive(), "evil\u202egz.tar.gz"),
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { payload: { name: string } }).payload.name).toBe("evilgz.flist");
  });
});
