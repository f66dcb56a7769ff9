/**
 * The edge cache's memory tier (src/edge/memory.ts, docs/catalog-api.md "Edge cache"): a repeated public read is
 * answered from the isolate's memory with no D1, R2 or Cache API call; a catalog write made in the isolate purges
 * it at once; an answer stays there at most TEXT_TTL_MS and never past its Cache API entry; .flist bytes are kept by
 * content within the byte budget. The rest of the worker tests run with the tier off (vitest.config.ts); the
 * requests here turn it on through their env, and writes go through the same env so that they purge it.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import { parseCost, type Cost } from "../src/cost/header";
import { MAX_BYTES_ENTRY, MemoryTier, TEXT_TTL_MS, memoryBudget } from "../src/edge/memory";
import { fixtureBytes, HUB, internalAuth, md5Hex, migrate, publishForm, type FixtureName } from "./support/hub";

const memEnv = { ...env, HUB_MEMORY_CACHE_MB: "8" };

async function hub(path: string, init: RequestInit = {}): Promise<{ res: Response; body: Uint8Array; cost: Cost }> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(HUB + path, init), memEnv, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx); // the cache put and the memory copy of a download land before the next read
  const cost = parseCost(res.headers.get("Server-Timing"));
  if (!cost) throw new Error(`${path}: no cost header`);
  return { res, body, cost };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function publish(repo: string, name: string, fixture: FixtureName): Promise<void> {
  const f = env.TEST_FIXTURES[fixture]!;
  const form = publishForm(fixtureBytes(fixture), { contents: f.find, metadata: f.metadata });
  const { res } = await hub(`/internal/publish/${repo}/${name}`, { method: "PUT", headers: internalAuth, body: form });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  await migrate();
  await publish("mem", "app", "main");
});

describe("MemoryTier", () => {
  it("evicts the least recently used entries beyond its budget", () => {
    const tier = new MemoryTier(100);
    tier.putText("a", "x".repeat(20)); // 40 bytes
    tier.putText("b", "y".repeat(20));
    expect(tier.text("a")).toBeDefined(); // a is now the most recently used
    tier.putText("c", "z".repeat(20));
    expect(tier.text("b")).toBeUndefined();
    expect(tier.text("a")).toBeDefined();
    expect(tier.text("c")).toBeDefined();
    expect(tier.size).toBe(80);
  });

  it("keeps an answer TEXT_TTL_MS at most, and never past the Cache API entry it came from", () => {
    const tier = new MemoryTier(1000);
    tier.putText("k", "v", Infinity, 0);
    expect(tier.text("k", TEXT_TTL_MS - 1)).toBe("v");
    expect(tier.text("k", TEXT_TTL_MS)).toBeUndefined();
    tier.putText("k", "v", 300, 0);
    expect(tier.text("k", 299)).toBe("v");
    expect(tier.text("k", 300)).toBeUndefined();
    expect(tier.size).toBe(0);
  });

  it("forgets purged keys, refuses bytes above MAX_BYTES_ENTRY, and is off without a budget", () => {
    const tier = new MemoryTier(MAX_BYTES_ENTRY * 4);
    tier.putText("k", "v");
    tier.deleteTexts(["k"]);
    expect(tier.text("k")).toBeUndefined();
    tier.putBytes("big", new Uint8Array(MAX_BYTES_ENTRY + 1));
    expect(tier.bytes("big")).toBeUndefined();
    tier.putBytes("ok", new Uint8Array(10));
    expect(tier.bytes("ok")?.byteLength).toBe(10);
    expect(memoryBudget({})).toBe(0);
    expect(memoryBudget({ HUB_MEMORY_CACHE_MB: "0" })).toBe(0);
    expect(memoryBudget({ HUB_MEMORY_CACHE_MB: "nonsense" })).toBe(0);
    expect(memoryBudget({ HUB_MEMORY_CACHE_MB: "2" })).toBe(2 * 1024 * 1024);
  });
});

describe("through the Worker", () => {
  it("a repeated read is a memory hit: no D1, R2 or Cache API call", async () => {
    const cold = await hub("/api/flist/mem");
    expect(cold.cost.d1Queries).toBe(1);
    const warm = await hub("/api/flist/mem");
    expect(text(warm.body)).toBe(text(cold.body));
    expect(warm.cost).toMatchObject({ memoryHits: 1, cacheHits: 0, cacheMisses: 0, d1Queries: 0, r2Ops: 0 });
  });

  it("a download's bytes come from memory, whole and in ranges", async () => {
    const bytes = fixtureBytes("main");
    await hub("/mem/app.flist"); // the name resolves through D1, the bytes from R2; both are kept
    const warm = await hub("/mem/app.flist");
    expect(warm.body).toEqual(bytes);
    expect(warm.res.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(warm.cost).toMatchObject({ memoryHits: 2, cacheHits: 0, d1Queries: 0, r2Ops: 0 });
    const part = await hub("/mem/app.flist", { headers: { Range: "bytes=3-12" } });
    expect(part.res.status).toBe(206);
    expect(part.res.headers.get("Content-Range")).toBe(`bytes 3-12/${bytes.length}`);
    expect(part.body).toEqual(bytes.slice(3, 13));
    expect(part.cost).toMatchObject({ d1Queries: 0, r2Ops: 0, cacheHits: 0 });
  });

  it("a publish in this isolate makes the next read fresh at once", async () => {
    await hub("/mem/app.flist.md5");
    expect((await hub("/mem/app.flist.md5")).cost.memoryHits).toBe(1);
    await hub("/api/flist/mem/app/light");
    await publish("mem", "app", "overlay");
    const md5 = await md5Hex(fixtureBytes("overlay"));
    expect(text((await hub("/mem/app.flist.md5")).body).trim()).toBe(md5);
    expect(JSON.parse(text((await hub("/api/flist/mem/app/light")).body)).md5).toBe(md5);
    expect((await hub("/mem/app.flist")).body).toEqual(fixtureBytes("overlay"));
  });

  it("after TEXT_TTL_MS the answer comes from the Cache API again (another isolate's purge reaches it by then)", async () => {
    await hub("/api/repositories");
    expect((await hub("/api/repositories")).cost.memoryHits).toBe(1);
    await new Promise((r) => setTimeout(r, TEXT_TTL_MS + 50));
    const later = await hub("/api/repositories");
    expect(later.cost).toMatchObject({ memoryHits: 0, cacheHits: 1, d1Queries: 0 });
  });

  it("a metered no-cache read skips memory too (the benchmark's cold read)", async () => {
    await hub("/api/flist/mem");
    const cold = await hub("/api/flist/mem", { headers: { "Cache-Control": "no-cache" } });
    expect(cold.cost).toMatchObject({ memoryHits: 0, d1Queries: 1 });
  });
});
