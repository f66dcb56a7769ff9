/** Per-flist reads: `/light`, `/taglink`, `/metadata`, contents, history; `.flist` suffix handling. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import { fixtureBytes, json, md5Hex, me, migrate, publish } from "./support/hub";

async function ok(user: string, path: string, method = "GET") {
  const res = await me(user, path, method);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

beforeAll(async () => {
  await migrate();
  await publish("inf", "app", "main");
  await publish("inf", "meta", "meta");
  const { backend: _drop, ...noBackend } = env.TEST_FIXTURES.main!.metadata;
  await publish("inf", "nobackend", "main", { metadata: noBackend, bytes: fixtureBytes("edited") });
  await ok("inf", "/app/link/latest");
  await ok("inf", "/app/link/loop1");
  await ok("inf", "/loop1/link/loop2");
  await ok("inf", "/loop2/link/loop1");
  await ok("inf", "/v1/app/tag/inf/app");
  await ok("inf", "/production/crosstag/inf/v1");
  await ok("inf2", "/cross/crosslink/inf/latest");
});

describe("/light", () => {
  it("describes a regular flist with an int size and its md5", async () => {
    const { status, body } = await json("/api/flist/inf/app/light");
    expect(status).toBe(200);
    expect(body).toEqual({
      name: "app.flist",
      size: fixtureBytes("main").length,
      updated: expect.any(Number),
      type: "regular",
      md5: await md5Hex(fixtureBytes("main")),
    });
  });

  it("shows a link's raw target, linktime and the resolved size/md5", async () => {
    const app = (await json("/api/flist/inf/app/light")).body;
    expect((await json("/api/flist/inf/latest/light")).body).toEqual({
      name: "latest.flist",
      size: app.size,
      updated: app.updated,
      linktime: expect.any(Number),
      type: "symlink",
      target: "app.flist",
      md5: app.md5,
    });
    // Raw readlink form for a crosslink: ../repo/name.
    expect((await json("/api/flist/inf2/cross/light")).body).toMatchObject({ type: "symlink", target: "../inf/latest.flist", md5: app.md5 });
  });

  it("answers md5 null for a loop, 404 for a taglink or a missing name", async () => {
    const loop = await json("/api/flist/inf/loop1/light");
    expect(loop.status).toBe(200);
    expect(loop.body).toMatchObject({ type: "symlink", target: "loop2.flist", md5: null, size: "loop2.flist".length });
    expect(await json("/api/flist/inf/production/light")).toMatchObject({ status: 404, body: { status: "error", message: "source not found" } });
    expect(await json("/api/flist/inf/missing/light")).toMatchObject({ status: 404, body: { status: "error", message: "source not found" } });
    expect(await json("/api/flist/nobody/app/light")).toMatchObject({ status: 404, body: { status: "error", message: "user not found" } });
  });

  it("treats foo and foo.flist as the same name", async () => {
    expect((await json("/api/flist/inf/app.flist/light")).body).toEqual((await json("/api/flist/inf/app/light")).body);
  });
});

describe("INFO /api/flist/<repo>/<name>", () => {
  it("is routed like /light", async () => {
    // workerd's Request constructor refuses methods it does not know (INFO included), so the router gets a
    // request-shaped object directly; on a real deployment the runtime answers before the Worker runs.
    expect(() => new Request("http://hub.test/", { method: "INFO" })).toThrow();
    const request = { method: "INFO", url: "http://hub.test/api/flist/inf/latest", headers: new Headers() } as unknown as Request;
    const res = await app.fetch(request, env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual((await json("/api/flist/inf/latest/light")).body);
  });
});

describe("/taglink", () => {
  it("answers the cleaned target of a taglink, with or without .flist", async () => {
    expect((await json("/api/flist/inf/production/taglink")).body).toEqual({ target: "inf/tags/v1" });
    expect((await json("/api/flist/inf/production.flist/taglink")).body).toEqual({ target: "inf/tags/v1" });
  });

  it("answers 404 for anything that is not a taglink", async () => {
    expect((await json("/api/flist/inf/latest/taglink")).status).toBe(404);
    expect((await json("/api/flist/inf/nothing/taglink")).status).toBe(404);
  });
});

describe("/metadata", () => {
  it("answers every metadata key and never a backend password or token", async () => {
    const { status, body } = await json("/api/flist/inf/meta/metadata");
    expect(status).toBe(200);
    const expected = env.TEST_FIXTURES.meta!.metadata as Record<string, any>;
    expect(expected.backend.password).toBe("fixtures-pw"); // the fixture does carry one
    const { password: _p, ...publicBackend } = expected.backend;
    expect(body).toEqual({ ...expected, backend: publicBackend });
    expect(JSON.stringify(body)).not.toContain("fixtures-pw");
  });

  it("adds backend-forced from HUB_BACKEND when the flist has no backend", async () => {
    const { body } = await json("/api/flist/inf/nobackend/metadata");
    expect(body.backend).toBeUndefined();
    // The shape the converter writes for HUB_BACKEND "127.0.0.1:9900": no namespace key when none is configured.
    expect(body["backend-forced"]).toEqual({ host: "127.0.0.1", port: 9900 });
  });

  it("tells the public chunk backend at /api/backend (what zhub push writes into flists)", async () => {
    const { body } = await json("/api/backend");
    expect(body).toEqual({ status: "success", payload: { host: "127.0.0.1", port: 9900, address: "127.0.0.1:9900" } });
  });

  it("follows links and answers 404 for a loop", async () => {
    expect((await json("/api/flist/inf/latest/metadata")).body).toEqual((await json("/api/flist/inf/app/metadata")).body);
    expect((await json("/api/flist/inf/loop1/metadata")).status).toBe(404);
  });
});

describe("GET /api/flist/<repo>/<name> (contents)", () => {
  it("answers the zflist find listing stored at publish time", async () => {
    const { status, body, res } = await json("/api/flist/inf/app");
    expect(status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(body).toEqual(env.TEST_FIXTURES.main!.find);
    for (const e of body.content) {
      expect(e.path.startsWith("/")).toBe(true);
      expect(Number.isInteger(e.size)).toBe(true);
    }
  });

  it("follows links (same answer for app, app.flist and a link to it) and 404s otherwise", async () => {
    const direct = (await json("/api/flist/inf/app")).body;
    expect((await json("/api/flist/inf/app.flist")).body).toEqual(direct);
    expect((await json("/api/flist/inf2/cross")).body).toEqual(direct);
    expect(await json("/api/flist/inf/loop2")).toMatchObject({ status: 404, body: { status: "error", message: "source not found" } });
    expect(await json("/api/flist/inf/nothing")).toMatchObject({ status: 404, body: { status: "error" } });
  });
});

describe("history and restore", () => {
  it("lists versions newest first and restores one (the replaced version is archived too)", async () => {
    await publish("hist", "app", "main");
    await publish("hist", "app", "overlay");
    await publish("hist", "app", "empty");
    const h = await json("/api/flist/hist/app/history");
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ repository: "hist", name: "app.flist", current: { type: "regular" } });
    expect(h.body.versions.map((v: any) => v.version)).toEqual([2, 1]);
    expect(h.body.versions[1].md5).toBe(await md5Hex(fixtureBytes("main")));

    const restored = await me("hist", "/app/restore/1", "POST");
    expect(restored).toMatchObject({ status: 200, body: { status: "success", payload: { name: "app.flist", restored: 1 } } });
    expect((await json("/api/flist/hist/app/light")).body.md5).toBe(await md5Hex(fixtureBytes("main")));
    const after = (await json("/api/flist/hist/app.flist/history")).body;
    expect(after.versions[0]).toMatchObject({ version: 3, reason: "restore", md5: await md5Hex(fixtureBytes("empty")) });
  });

  it("keeps a deleted flist restorable, and answers 404/400 for unknown or bad versions", async () => {
    await publish("hist2", "gone", "main");
    await me("hist2", "/gone", "DELETE");
    expect((await json("/api/flist/hist2/gone/light")).status).toBe(404);
    const h = (await json("/api/flist/hist2/gone/history")).body;
    expect(h.current).toBeNull();
    expect(h.versions[0]).toMatchObject({ version: 1, reason: "delete" });
    expect((await me("hist2", "/gone/restore/7", "POST")).status).toBe(404);
    expect((await me("hist2", "/gone/restore/abc", "POST")).status).toBe(400);
    expect((await me("hist2", "/gone/restore/0", "POST")).status).toBe(400);
    expect((await me("hist2", "/gone/restore/1", "POST")).status).toBe(200);
    expect((await json("/api/flist/hist2/gone/light")).body.md5).toBe(await md5Hex(fixtureBytes("main")));
    expect((await json("/api/flist/hist2/never/history")).status).toBe(404);
  });
});
