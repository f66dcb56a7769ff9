/**
 * Per-request cost and the edge cache (docs/catalog-api.md "Edge cache", docs/benchmarks.md "Per-request cost"):
 * a public read costs at most one D1 round trip; a second read is an edge cache hit with no D1 or R2 call at all;
 * after every kind of catalog write the next read is fresh; nothing user-specific is ever cached. The counts are the
 * Server-Timing header of the real Worker (HUB_REQUEST_COST is on in the test configuration).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../src/app";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCost, type Cost } from "../src/cost/header";
import { edgeKeys } from "../src/edge/keys";
import { asUser, fetchHub, fixtureBytes, HUB, json, md5Hex, me, migrate, publish } from "./support/hub";

async function costly(path: string, init: RequestInit = {}): Promise<{ res: Response; body: string; cost: Cost }> {
  const res = await fetchHub(path, init);
  // Decoded here, not with res.text(): workerd warns when text() meets a body that is not text (the downloads).
  const body = new TextDecoder().decode(await res.arrayBuffer());
  const cost = parseCost(res.headers.get("Server-Timing"));
  if (!cost) throw new Error(`${path}: no cost header`);
  return { res, body, cost };
}

/** Waits until the cache put made in waitUntil has landed (the test runs next to the request, not after it). */
async function warm(path: string): Promise<{ body: string; cost: Cost }> {
  for (let i = 0; i < 50; i++) {
    const second = await costly(path);
    if (second.cost.cacheHits > 0 && second.cost.cacheMisses === 0) return second;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never became an edge cache hit`);
}

const md5Of = async (path: string) => (await costly(path)).body.trim();

beforeAll(async () => {
  await migrate();
  await publish("edge", "app", "main");
  await publish("edge", "other", "overlay");
  await me("edge", "/app/link/latest");
  await me("edge-x", "/cross/crosslink/edge/app");
  await me("edge-x", "/cross/link/hop");
});

describe("public reads: one D1 round trip cold, nothing but the cache warm", () => {
  const routes = [
    "/edge/app.flist",
    "/edge/other.flist.md5",
    "/edge/latest.flist",
    "/edge-x/hop.flist.md5",
    "/api/flist/edge/app/light",
    "/api/flist/edge",
    "/api/flist",
    "/api/fileslist",
    "/api/repositories",
  ];
  // A download and its .md5 share one cache entry (what the name resolves to): each name is read cold once here.
  for (const path of routes) {
    it(path, async () => {
      const cold = await costly(path);
      expect(cold.res.status).toBe(200);
      expect(cold.cost.d1Queries, "cold D1 round trips").toBe(1);
      expect(cold.cost.d1RowsRead).toBeGreaterThan(0);
      expect(cold.cost.d1RowsWritten).toBe(0);
      const hot = await warm(path);
      expect(hot.body).toBe(cold.body);
      expect(hot.cost).toMatchObject({ d1Queries: 0, d1RowsRead: 0, r2Ops: 0, cacheMisses: 0 });
    });
  }

  it("a cold download reads R2 once; HEAD and ranges of a cached one touch neither D1 nor R2", async () => {
    await publish("edge-dl", "big", "merged");
    const cold = await costly("/edge-dl/big.flist");
    expect(cold.cost).toMatchObject({ d1Queries: 1, r2Ops: 1 });
    const hot = await warm("/edge-dl/big.flist");
    expect(hot.cost.cacheHits).toBe(2); // the name's resolution, then the bytes
    const head = await costly("/edge-dl/big.flist", { method: "HEAD" });
    expect(head.res.status).toBe(200);
    expect(head.res.headers.get("Content-Length")).toBe(String(fixtureBytes("merged").length));
    expect(head.cost).toMatchObject({ d1Queries: 0, r2Ops: 0 });
    const range = await costly("/edge-dl/big.flist", { headers: { Range: "bytes=0-9" } });
    expect(range.res.status).toBe(206);
    expect(range.res.headers.get("Content-Range")).toBe(`bytes 0-9/${fixtureBytes("merged").length}`);
    expect(range.cost).toMatchObject({ d1Queries: 0, r2Ops: 0 });
    expect(new Uint8Array(await (await fetchHub("/edge-dl/big.flist", { headers: { Range: "bytes=5-14" } })).arrayBuffer())).toEqual(
      fixtureBytes("merged").slice(5, 15),
    );
    const notModified = await costly("/edge-dl/big.flist", { headers: { "If-None-Match": `"${await md5Hex(fixtureBytes("merged"))}"` } });
    expect(notModified.res.status).toBe(304);
    expect(notModified.cost).toMatchObject({ d1Queries: 0, r2Ops: 0 });
  });

  it("entries expire after HUB_EDGE_CACHE_SECONDS (60) everywhere", async () => {
    await warm("/api/flist/edge/app/light");
    const stored = await (caches as unknown as { default: Cache }).default.match(edgeKeys.light(env, "edge", "app.flist"));
    expect(stored?.headers.get("Cache-Control")).toBe("public, max-age=60");
  });

  it("a metered request with Cache-Control: no-cache skips the cache (what the benchmark calls cold)", async () => {
    await warm("/api/flist/edge");
    const cold = await costly("/api/flist/edge", { headers: { "Cache-Control": "no-cache" } });
    expect(cold.cost).toMatchObject({ d1Queries: 1, cacheHits: 0, cacheMisses: 0 });
    const download = await costly("/edge/app.flist", { headers: { "Cache-Control": "no-cache" } });
    expect(download.cost).toMatchObject({ d1Queries: 1, r2Ops: 1, cacheHits: 0 });
  });

  it("rows read by a repository's reads do not grow with the rest of the catalog", async () => {
    const cold = async (path: string) => (await costly(path, { headers: { "Cache-Control": "no-cache" } })).cost.d1RowsRead;
    const paths = ["/api/flist/edge", "/api/flist/edge/app/light", "/edge/latest.flist.md5"];
    const before = await Promise.all(paths.map(cold));
    const now = Math.floor(Date.now() / 1000);
    const rows = Array.from({ length: 300 }, (_, i) => `('edge-bulk', 'e${i}.flist', 'symlink', 'edge', 'app.flist', '../edge/app.flist', ${now}, ${now}, ${now})`);
    await env.DB.prepare(`INSERT INTO repositories (name, created, updated) VALUES ('edge-bulk', ${now}, ${now})`).run();
    await env.DB.prepare(
      `INSERT INTO entries (repository, name, kind, target_repository, target_name, target_raw, created, updated, linktime) VALUES ${rows.join(", ")}`,
    ).run();
    expect(await Promise.all(paths.map(cold))).toEqual(before);
  });

  it("errors are never cached", async () => {
    const first = await costly("/edge/nope.flist");
    expect(first.res.status).toBe(404);
    const again = await costly("/edge/nope.flist");
    expect(again.cost.d1Queries).toBe(1);
  });
});

describe("after every kind of write the next read is fresh", () => {
  it("publish: the name, its links in the repository and in other repositories, the listings", async () => {
    await publish("fresh", "app", "main");
    await me("fresh", "/app/link/latest");
    await me("fresh-x", "/cross/crosslink/fresh/app");
    await me("fresh-x", "/cross/link/hop"); // two hops: hop -> cross -> fresh/app
    const paths = ["/fresh/app.flist.md5", "/fresh/latest.flist.md5", "/fresh-x/cross.flist.md5", "/fresh-x/hop.flist.md5"];
    for (const p of [...paths, "/api/flist/fresh/app/light"]) await warm(p);
    await warm("/api/flist/fresh");
    await warm("/api/flist/fresh-x");
    const before = JSON.parse((await costly("/api/flist/fresh-x")).body) as { size: string }[];

    await publish("fresh", "app", "overlay");
    const md5 = await md5Hex(fixtureBytes("overlay"));
    for (const p of paths) expect(await md5Of(p), p).toBe(md5);
    expect(JSON.parse((await costly("/api/flist/fresh/app/light")).body).md5).toBe(md5);
    const download = await costly("/fresh/latest.flist");
    expect(download.res.headers.get("ETag")).toBe(`"${md5}"`);
    const after = JSON.parse((await costly("/api/flist/fresh-x")).body) as { size: string }[];
    expect(after).not.toEqual(before); // the crosslink shows its new target's size
  });

  it("link and crosslink: a re-pointed link answers its new target", async () => {
    await publish("re", "a", "main");
    await publish("re", "b", "overlay");
    await me("re", "/a/link/cur");
    await me("re-x", "/pin/crosslink/re/a");
    await warm("/re/cur.flist.md5");
    await warm("/re-x/pin.flist.md5");
    await me("re", "/b/link/cur");
    await me("re-x", "/pin/crosslink/re/b");
    const md5 = await md5Hex(fixtureBytes("overlay"));
    expect(await md5Of("/re/cur.flist.md5")).toBe(md5);
    expect(await md5Of("/re-x/pin.flist.md5")).toBe(md5);
  });

  it("rename: the old name is gone, the new one answers", async () => {
    await publish("mv", "old", "main");
    await warm("/mv/old.flist.md5");
    await warm("/api/flist/mv");
    await warm("/api/flist");
    expect((await me("mv", "/old/rename/new")).status).toBe(200);
    expect((await costly("/mv/old.flist.md5")).res.status).toBe(404);
    expect(await md5Of("/mv/new.flist.md5")).toBe(await md5Hex(fixtureBytes("main")));
    const names = (JSON.parse((await costly("/api/flist/mv")).body) as { name: string }[]).map((e) => e.name);
    expect(names).toEqual(["new.flist"]);
    const paths = JSON.parse((await costly("/api/flist")).body) as string[];
    expect(paths).toContain("mv/new.flist");
    expect(paths).not.toContain("mv/old.flist");
  });

  it("delete: the name and the links through it stop resolving", async () => {
    await publish("rm", "gone", "main");
    await me("rm", "/gone/link/alias");
    await warm("/rm/gone.flist.md5");
    await warm("/rm/alias.flist.md5");
    await warm("/api/flist/rm/alias/light");
    expect((await me("rm", "/gone", "DELETE")).status).toBe(200);
    expect((await costly("/rm/gone.flist.md5")).res.status).toBe(404);
    expect((await costly("/rm/alias.flist.md5")).res.status).toBe(404);
    expect(JSON.parse((await costly("/api/flist/rm/alias/light")).body).md5).toBeNull(); // now a dangling link
  });

  it("tag changes: the listing and the catalog paths show the tag, then not", async () => {
    await publish("tg", "app", "main");
    await warm("/api/flist/tg");
    await warm("/api/flist");
    await me("tg", "/v1/app/tag/tg/app");
    const listed = JSON.parse((await costly("/api/flist/tg")).body) as { name: string; type: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ name: "v1", type: "tag" }));
    expect(JSON.parse((await costly("/api/flist")).body)).toContain("tg/.tag-v1");
    await warm("/api/flist/tg");
    expect((await me("tg", "/v1/app/tag/tg/app", "DELETE")).status).toBe(200);
    const after = JSON.parse((await costly("/api/flist/tg")).body) as { type: string }[];
    expect(after.some((e) => e.type === "tag")).toBe(false);
  });

  it("promote and restore: the listing and the name answer the new state", async () => {
    await publish("pr-src", "tool", "main");
    await publish("pr", "keep", "main");
    await warm("/api/flist/pr");
    expect((await me("pr", "/promote/pr-src/tool/copied")).status).toBe(200);
    const names = (JSON.parse((await costly("/api/flist/pr")).body) as { name: string }[]).map((e) => e.name);
    expect(names).toContain("copied.flist");

    await publish("pr", "keep", "overlay");
    await warm("/pr/keep.flist.md5");
    expect((await me("pr", "/keep/restore/1", "POST")).status).toBe(200);
    expect(await md5Of("/pr/keep.flist.md5")).toBe(await md5Hex(fixtureBytes("main")));
  });

  it("a new repository shows in /api/repositories at once", async () => {
    await warm("/api/repositories");
    await publish("brand-new", "x", "main");
    const names = (JSON.parse((await costly("/api/repositories")).body) as { name: string }[]).map((r) => r.name);
    expect(names).toContain("brand-new");
  });
});

describe("nothing user-specific is cached", () => {
  it("/api/flist/me answers each user their own name and never consults the cache", async () => {
    for (const user of ["alice-e", "bob-e", "alice-e"]) {
      const res = await fetchHub("/api/flist/me", { headers: await asUser(user) });
      expect(((await res.json()) as { payload: { username: string } }).payload.username).toBe(user);
      expect(parseCost(res.headers.get("Server-Timing"))).toMatchObject({ cacheHits: 0, cacheMisses: 0 });
    }
  });

  it("authenticated routes under /api/flist/me are never served from the cache", async () => {
    await publish("carol-e", "mine", "main");
    await publish("dave-e", "mine", "overlay");
    const carol = await json("/api/flist/me/mine", { headers: await asUser("carol-e") });
    const dave = await json("/api/flist/me/mine", { headers: await asUser("dave-e") });
    expect(carol.status).toBe(200);
    expect(dave.body).not.toEqual(carol.body);
    for (const { res } of [carol, dave]) {
      expect(parseCost(res.headers.get("Server-Timing"))).toMatchObject({ cacheHits: 0, cacheMisses: 0 });
    }
  });

  it("the cost header is absent unless HUB_REQUEST_COST is true", async () => {
    for (const value of ["false", undefined]) {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`${HUB}/api/flist/edge`), { ...env, HUB_REQUEST_COST: value }, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
      expect(res.headers.get("Server-Timing")).toBeNull();
    }
  });
});
