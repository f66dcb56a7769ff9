/**
 * Download counts (docs/catalog-api.md "Download counts"): a whole download, also one answered from the edge cache,
 * sends a queue message after the answer; the consumer writes a batch in one D1 statement; the counts show in the
 * new API routes and on the flist and repository pages. The first test goes through the real queue of the test
 * runtime (wrangler.toml's consumer), so it waits for a batch to be delivered.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { meteredEnv } from "../src/cost/meter";
import { emptyCost, parseCost } from "../src/cost/header";
import { FRONT_REVALIDATION_HEADER } from "../../protocol/front-revalidation";
import { fetchHub, fixtureBytes, json, md5Hex, me, migrate, publish } from "./support/hub";

async function countOf(path: string): Promise<number> {
  return (await json<{ downloads: number }>(path)).body.downloads;
}

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  await migrate();
  await publish("cnt", "app", "main");
  await publish("cnt", "idle", "overlay");
  await me("cnt", "/app/link/latest");
});

describe("counting downloads", () => {
  it("counts whole GETs, from R2 or from the edge cache, through links, and the local front's revalidations; not HEAD, 304 or ranges", async () => {
    const etag = `"${await md5Hex(fixtureBytes("main"))}"`;
    // Not counted: nothing was downloaded.
    expect((await fetchHub("/cnt/app.flist", { method: "HEAD" })).status).toBe(200);
    expect((await fetchHub("/cnt/app.flist", { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await fetchHub("/cnt/app.flist", { headers: { Range: "bytes=0-9" } })).status).toBe(206);
    // A client's 304 that claims to be the front's revalidation without the secret downloads nothing either.
    const guessed = { "If-None-Match": etag, [FRONT_REVALIDATION_HEADER]: "not-the-secret" };
    expect((await fetchHub("/cnt/app.flist", { headers: guessed })).status).toBe(304);
    // The front's revalidation (scripts/lib/front-cache.ts): it sends the body it kept, so this 304 is a download.
    const front = { "If-None-Match": etag, [FRONT_REVALIDATION_HEADER]: env.INTERNAL_SECRET };
    expect((await fetchHub("/cnt/app.flist", { headers: front })).status).toBe(304);

    const costs = [];
    for (const path of ["/cnt/app.flist", "/cnt/app.flist", "/cnt/app.flist", "/cnt/latest.flist"]) {
      const res = await fetchHub(path);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      costs.push(parseCost(res.headers.get("Server-Timing"))!);
      await new Promise((r) => setTimeout(r, 50)); // lets the cache put of the first answer land
    }
    // No D1 write in a download's own path; the later ones come from the edge cache without any D1 call.
    for (const cost of costs) expect(cost.d1RowsWritten).toBe(0);
    expect(costs.some((cost) => cost.d1Queries === 0 && cost.cacheHits > 0)).toBe(true);

    await until(async () => (await countOf("/api/flist/cnt/app/downloads")) >= 5, "5 counted downloads");
    // One batch timeout more: a wrongly counted HEAD/304/range would have arrived by now.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await countOf("/api/flist/cnt/app/downloads")).toBe(5);
  }, 120_000);

  it("the consumer writes a whole batch in one D1 statement and drops malformed messages", async () => {
    const messages = [
      ...Array.from({ length: 240 }, (_, i) => ({ repository: "cnt-b", name: `f${i % 3}.flist` })),
      { nonsense: true },
    ].map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body }));
    const batch = createMessageBatch("zos-hub-downloads", messages);
    const cost = emptyCost();
    const ctx = createExecutionContext();
    await worker.queue(batch, meteredEnv(env, cost));
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    expect(cost).toMatchObject({ d1Queries: 1, d1Statements: 1 });
    const { results } = await env.DB.prepare("SELECT name, count FROM download_counts WHERE repository = 'cnt-b' ORDER BY name").all();
    expect(results).toEqual([
      { name: "f0.flist", count: 80 },
      { name: "f1.flist", count: 80 },
      { name: "f2.flist", count: 80 },
    ]);
    // A second batch adds to the counts.
    await worker.queue(createMessageBatch("zos-hub-downloads", messages.slice(0, 3)), env);
    const row = await env.DB.prepare("SELECT count FROM download_counts WHERE repository = 'cnt-b' AND name = 'f0.flist'").first();
    expect(row).toEqual({ count: 81 });
  });
});

describe("showing counts", () => {
  beforeAll(async () => {
    await env.DB.prepare("INSERT OR REPLACE INTO download_counts (repository, name, count) VALUES ('cnt-s', 'app.flist', 42)").run();
    await publish("cnt-s", "app", "main");
    await publish("cnt-s", "quiet", "overlay");
    await me("cnt-s", "/app/link/latest");
  });

  it("GET /api/downloads/<repo> and /api/flist/<repo>/<name>/downloads; a link answers its target's count", async () => {
    expect((await json("/api/downloads/cnt-s")).body).toEqual({ "app.flist": 42 });
    expect((await json("/api/flist/cnt-s/latest/downloads")).body).toEqual({ name: "latest.flist", flist: "cnt-s/app.flist", downloads: 42 });
    expect((await json("/api/flist/cnt-s/quiet.flist/downloads")).body).toMatchObject({ downloads: 0 });
    expect(await json("/api/downloads/nobody-here")).toMatchObject({ status: 404, body: { message: "user not found" } });
    expect(await json("/api/flist/cnt-s/none/downloads")).toMatchObject({ status: 404, body: { message: "source not found" } });
  });

  it("the listings keep the original's shape (no count field)", async () => {
    const { body } = await json<Record<string, unknown>[]>("/api/flist/cnt-s");
    for (const entry of body) expect(Object.keys(entry)).not.toContain("downloads");
  });

  it("the flist page and the repository page show them", async () => {
    const page = await (await fetchHub("/cnt-s/app.flist.html")).text();
    expect(page).toMatch(/<dt>Downloads<\/dt>\s*<dd data-downloads="42">42<\/dd>/);
    const viaLink = await (await fetchHub("/cnt-s/latest.flist.html")).text();
    expect(viaLink).toContain('data-downloads="42"');
    const repo = await (await fetchHub("/cnt-s")).text();
    expect(repo).toContain("Downloads");
    expect(repo).toMatch(/data-label="Downloads" data-value="42">42</);
    expect(repo).toMatch(/data-label="Downloads" data-value="0">0</);
  });
});
