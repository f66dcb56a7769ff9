/** PUT /internal/publish/<repo>/<name>: the one way flists enter the catalog. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_FLIST_BYTES } from "../src/catalog/publish";
import {
  dumpCatalog,
  fetchHub,
  fixtureBytes,
  internalAuth,
  json,
  md5Hex,
  migrate,
  publish,
  publishForm,
  r2Count,
} from "./support/hub";

beforeAll(migrate);

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("publish", () => {
  it("stores the blob content-addressed in R2 and answers its hashes", async () => {
    const bytes = fixtureBytes("main");
    const res = await publish("pub-a", "first", "main");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "success",
      payload: {
        repository: "pub-a",
        name: "first.flist",
        sha256: await sha256Hex(bytes),
        md5: await md5Hex(bytes),
        size: bytes.length,
      },
    });
    const object = await env.FLISTS.get(`blobs/${res.body.payload.sha256}`);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes);
    const listing = await env.FLISTS.get(`blobs/${res.body.payload.sha256}.contents.json`);
    expect(await listing!.json()).toEqual(env.TEST_FIXTURES.main!.find);
  });

  it("stores identical bytes once, whatever the number of names", async () => {
    await publish("pub-b", "one", "overlay");
    const before = await r2Count();
    await publish("pub-b", "two", "overlay");
    await publish("pub-b2", "three.flist", "overlay");
    expect(await r2Count()).toBe(before);
    const blobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM blobs WHERE size = ?1")
      .bind(fixtureBytes("overlay").length)
      .first<{ n: number }>();
    expect(blobs!.n).toBe(1);
  });

  it("is idempotent per job id: a second delivery answers the first result and writes nothing", async () => {
    const first = await publish("pub-c", "job", "main", { jobId: "job-42" });
    expect(first.status).toBe(200);
    const before = await dumpCatalog();
    // Redelivery, even with other bytes, answers the recorded result.
    const again = await publish("pub-c", "job", "overlay", { jobId: "job-42" });
    expect(again).toEqual(first);
    expect(await dumpCatalog()).toEqual(before);
  });

  it("replaces an existing name, keeping the previous version in history", async () => {
    await publish("pub-d", "app", "main");
    await publish("pub-d", "app", "overlay");
    const history = await json("/api/flist/pub-d/app/history");
    expect(history.status).toBe(200);
    expect(history.body.current.sha256).toBe(await sha256Hex(fixtureBytes("overlay")));
    expect(history.body.versions).toHaveLength(1);
    expect(history.body.versions[0]).toMatchObject({
      version: 1,
      type: "regular",
      sha256: await sha256Hex(fixtureBytes("main")),
      md5: await md5Hex(fixtureBytes("main")),
      reason: "publish",
    });
  });

  it("replaces a link by the published flist instead of writing through it", async () => {
    await publish("pub-e", "target", "main");
    await env.DB.prepare(
      `INSERT INTO entries (repository, name, kind, target_repository, target_name, target_raw, created, updated, linktime)
       VALUES ('pub-e', 'alias.flist', 'symlink', 'pub-e', 'target.flist', 'target.flist', 1, 1, 1)`,
    ).run();
    await publish("pub-e", "alias", "overlay");
    const target = await json("/api/flist/pub-e/target/light");
    const alias = await json("/api/flist/pub-e/alias/light");
    expect(target.body.md5).toBe(await md5Hex(fixtureBytes("main")));
    expect(alias.body).toMatchObject({ type: "regular", md5: await md5Hex(fixtureBytes("overlay")) });
  });

  it("refuses a missing or wrong secret", async () => {
    const before = await dumpCatalog();
    const body = () => publishForm(fixtureBytes("main"), { contents: env.TEST_FIXTURES.main!.find, metadata: {} });
    const none = await fetchHub("/internal/publish/pub-f/x", { method: "PUT", body: body() });
    expect(none.status).toBe(401);
    const wrong = await fetchHub("/internal/publish/pub-f/x", {
      method: "PUT",
      headers: { Authorization: "Bearer not-the-secret" },
      body: body(),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ status: "error" });
    expect(await dumpCatalog()).toEqual(before);
  });

  it("refuses bad input with a 4xx and changes nothing", async () => {
    const before = await dumpCatalog();
    const beforeR2 = await r2Count();
    const find = env.TEST_FIXTURES.main!.find;
    const put = (path: string, init: RequestInit) =>
      fetchHub(path, { method: "PUT", ...init, headers: { ...internalAuth, ...(init.headers ?? {}) } });

    const cases: [string, RequestInit, number][] = [
      ["/internal/publish/pub-g/x", { body: "raw bytes" }, 415],
      ["/internal/publish/pub-g/x", { body: publishForm(fixtureBytes("main"), { contents: { content: [] }, metadata: {} }) }, 400],
      ["/internal/publish/pub-g/x", { body: publishForm(new Uint8Array([1, 2, 3]), { contents: find }) }, 400],
      ["/internal/publish/pub-g/x", { body: publishForm(new Uint8Array(0), { contents: find }) }, 400],
      // URL parsing turns `..` (and `%2E%2E`) into "up one segment": no route matches, nothing is written.
      ["/internal/publish/pub-g/..", { body: publishForm(fixtureBytes("main"), { contents: find }) }, 404],
      ["/internal/publish/pub-g/.flist", { body: publishForm(fixtureBytes("main"), { contents: find }) }, 400],
      ["/internal/publish/pub-g/a%2Fb", { body: publishForm(fixtureBytes("main"), { contents: find }) }, 400],
      ["/internal/publish/pub-g/a%01b", { body: publishForm(fixtureBytes("main"), { contents: find }) }, 400],
      [`/internal/publish/pub-g/${"x".repeat(250)}`, { body: publishForm(fixtureBytes("main"), { contents: find }) }, 400],
    ];
    for (const [path, init, status] of cases) {
      const res = await put(path, init);
      expect(res.status, path).toBe(status);
      expect(await res.json()).toMatchObject({ status: "error", message: expect.any(String) });
    }
    const hugeReadme = { readme: { readme: "x".repeat(1024 * 1024 + 1) } };
    const huge = await put("/internal/publish/pub-g/x", { body: publishForm(fixtureBytes("main"), { contents: find, metadata: hugeReadme }) });
    expect(huge.status).toBe(413);
    const oversized = new Uint8Array(MAX_FLIST_BYTES + 1);
    oversized.set([0x1f, 0x8b]);
    expect((await put("/internal/publish/pub-g/x", { body: publishForm(oversized, { contents: find }) })).status).toBe(413);
    const noInfo = new FormData();
    noInfo.append("flist", new File([fixtureBytes("main")], "x.flist"));
    expect((await put("/internal/publish/pub-g/x", { body: noInfo })).status).toBe(400);
    const badJson = new FormData();
    badJson.append("flist", new File([fixtureBytes("main")], "x.flist"));
    badJson.append("info", "{not json");
    expect((await put("/internal/publish/pub-g/x", { body: badJson })).status).toBe(400);

    expect(await dumpCatalog()).toEqual(before);
    expect(await r2Count()).toBe(beforeR2);
  });
});
