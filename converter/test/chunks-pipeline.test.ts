import { readFileSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { extract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Block } from "../src/flist/model.ts";
import { ChunkPipeline } from "../src/chunks/pipeline.ts";
import { readBlocks } from "../src/chunks/read.ts";
import { CHUNK_SIZE, hex } from "../src/chunks/transform.ts";
import { findMissing } from "../src/chunks/verify.ts";
import { openStore, StoreError, type ChunkStore } from "../src/store/index.ts";
import { startRedis, type RunningRedis } from "./support/redis.ts";

const FIXTURES = join(import.meta.dirname, "../../../shared/fixtures/flists");

/** path ("/data/x") → content of every regular file of the tarball (hardlinks resolved to their target). */
async function tarFiles(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  createReadStream(file).pipe(createGunzip()).pipe(ex);
  for await (const entry of ex) {
    const name = "/" + entry.header.name.replace(/^\.\//, "").replace(/\/$/, "");
    const parts: Buffer[] = [];
    for await (const d of entry) parts.push(d as Buffer);
    if (entry.header.type === "file") files.set(name, Buffer.concat(parts));
    if (entry.header.type === "link") files.set(name, files.get("/" + entry.header.linkname!.replace(/^\.\//, ""))!);
  }
  return files;
}

/** Expected blocks per path of main.flist, from chunks.tsv. */
function expectedBlocks(): Map<string, { hash: string; key: string }[]> {
  const out = new Map<string, { hash: string; key: string }[]>();
  for (const line of readFileSync(join(FIXTURES, "chunks.tsv"), "utf8").trim().split("\n").slice(1)) {
    const [hash, , , flist, path, index, , key] = line.split("\t");
    if (flist !== "main.flist") continue;
    const list = out.get(path!) ?? [];
    list[Number(index)] = { hash: hash!, key: key! };
    out.set(path!, list);
  }
  return out;
}

const show = (blocks: Block[]) => blocks.map((b) => ({ hash: hex(b.hash), key: hex(b.key) }));

/** Feeds a buffer in uneven slices, like a tar stream does. */
async function* slices(buf: Uint8Array, step = 100_003): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += step) yield buf.subarray(i, Math.min(buf.length, i + step));
}

async function concat(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

describe("chunk pipeline", () => {
  let redis: RunningRedis;
  let files: Map<string, Buffer>;
  beforeAll(async () => {
    [redis, files] = await Promise.all([startRedis(), tarFiles(join(FIXTURES, "tree-main.tar.gz"))]);
  });
  afterAll(async () => { await redis?.stop(); });

  it("tree-main: zflist's block lists and stored bytes, dedup on a second run, read back", async () => {
    const expected = expectedBlocks();
    const store = await openStore(redis.url);
    try {
      const run = async () => {
        const pipeline = new ChunkPipeline(store, { threads: 2, maxInFlight: 6 });
        const results = new Map<string, Promise<Block[]>>();
        for (const [path, content] of files) results.set(path, (await pipeline.addFile(slices(content))).blocks);
        const stats = await pipeline.finish();
        const blocks = new Map<string, Block[]>();
        for (const [path, p] of results) blocks.set(path, await p);
        return { stats, blocks };
      };

      const first = await run();
      for (const [path, content] of files) {
        const got = first.blocks.get(path)!;
        expect(got.length, path).toBe(Math.ceil(content.length / CHUNK_SIZE));
        expect(show(got), path).toEqual(expected.get(path) ?? []);
      }
      const distinct = new Set([...expected.values()].flat().map((b) => b.hash));
      expect(first.stats.written).toBe(distinct.size);
      expect(first.stats.chunks).toBe([...first.blocks.values()].flat().length);
      expect(first.stats.skipped).toBe(first.stats.chunks - distinct.size);
      expect(first.stats.bytesIn).toBe([...files.values()].reduce((n, c) => n + c.length, 0));
      for (const h of distinct) {
        const stored = await store.get(Buffer.from(h, "hex"));
        expect(Buffer.from(stored!).equals(readFileSync(join(FIXTURES, "chunks", `${h}.bin`))), h).toBe(true);
      }

      const second = await run();
      expect(second.stats.written).toBe(0);
      expect(second.stats.bytesStored).toBe(0);
      expect(second.stats.skipped).toBe(second.stats.chunks);

      for (const [path, content] of files) {
        expect((await concat(readBlocks(store, first.blocks.get(path)!))).equals(content), path).toBe(true);
      }
      expect(await findMissing(store, [...distinct].map((h) => Buffer.from(h, "hex")))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("identical pieces in one run are stored once; empty files have no blocks", async () => {
    const dir = (await import("node:fs/promises")).mkdtemp(join((await import("node:os")).tmpdir(), "zhub-pipe-"));
    const store = await openStore("file://" + (await dir));
    const piece = new Uint8Array(CHUNK_SIZE).fill(7);
    const twice = new Uint8Array(2 * CHUNK_SIZE).fill(7);
    const pipeline = new ChunkPipeline(store, { threads: 1 });
    const a = await pipeline.addFile([piece]);
    const b = await pipeline.addFile(slices(twice, 4096));
    const empty = await pipeline.addFile([]);
    const stats = await pipeline.finish();
    expect(await empty.blocks).toEqual([]);
    const [ba, bb] = [await a.blocks, await b.blocks];
    expect(show(bb)).toEqual([...show(ba), ...show(ba)]);
    expect(stats).toMatchObject({ chunks: 3, written: 1, skipped: 2, bytesIn: 3 * CHUNK_SIZE });
    await (await import("node:fs/promises")).rm(await dir, { recursive: true });
  });

  it("in-run dedup memory is bounded: forgotten repeats are found by EXISTS instead", async () => {
    const dir = await (await import("node:fs/promises")).mkdtemp(join((await import("node:os")).tmpdir(), "zhub-pipe-"));
    const store = await openStore("file://" + dir);
    try {
      const pipeline = new ChunkPipeline(store, { threads: 1, rememberHashes: 2, maxInFlight: 1 });
      const piece = (n: number) => new Uint8Array(100).fill(n);
      const files = [1, 2, 3, 1, 3].map(piece); // 1 is forgotten by the time it repeats, 3 is not
      const results = [];
      for (const f of files) results.push((await pipeline.addFile([f])).blocks);
      const stats = await pipeline.finish();
      const blocks = await Promise.all(results);
      expect(show(blocks[3]!)).toEqual(show(blocks[0]!));
      expect(stats).toMatchObject({ chunks: 5, written: 3, skipped: 2 });
    } finally {
      await (await import("node:fs/promises")).rm(dir, { recursive: true });
    }
  });

  it("store down mid-run: finish() and pending blocks reject with a StoreError, no hang", async () => {
    const own = await startRedis();
    const store = await openStore(own.url, { connectTimeoutMs: 1000 });
    const pipeline = new ChunkPipeline(store, { threads: 2, maxInFlight: 4 });
    try {
      const first = await pipeline.addFile(slices(files.get("/data/random-2200000.bin")!));
      await first.blocks;
      await own.stop();
      const data = new Uint8Array(8 * CHUNK_SIZE).map((_, i) => (i * 31) ^ (i >> 11));
      const pending: Promise<Block[]>[] = [];
      const addErr = await (async () => {
        for (let n = 0; n < 4; n++) pending.push((await pipeline.addFile(slices(data.map((x) => x ^ n)))).blocks);
      })().then(() => null, (e) => e);
      if (addErr) expect(addErr).toBeInstanceOf(StoreError);
      const finishErr = await pipeline.finish().then(() => null, (e) => e);
      expect(finishErr).toBeInstanceOf(StoreError);
      expect(finishErr.message).toMatch(/^chunk store redis:\/\/127\.0\.0\.1:\d+: /);
      for (const p of pending) await expect(p).rejects.toBeInstanceOf(StoreError);
      await expect(pipeline.addFile([new Uint8Array(1)])).rejects.toThrow();
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it("abort(): pending blocks, finish() and later addFile reject with the reason; workers stop", async () => {
    const store = await openStore(redis.url);
    try {
      const pipeline = new ChunkPipeline(store, { threads: 2, maxInFlight: 8 });
      const big = new Uint8Array(6 * CHUNK_SIZE).map((_, i) => i * 7);
      const { blocks } = await pipeline.addFile([big]);
      const reason = new Error("ingestion failed: bad entry");
      await pipeline.abort(reason);
      await expect(blocks).rejects.toBe(reason);
      await expect(pipeline.finish()).rejects.toBe(reason);
      await expect(pipeline.addFile([new Uint8Array(1)])).rejects.toBe(reason);
    } finally {
      await store.close();
    }
  });

  it("a failing source rejects that file only", async () => {
    const store = await openStore(redis.url);
    const pipeline = new ChunkPipeline(store, { threads: 1 });
    try {
      async function* broken() { yield new Uint8Array(CHUNK_SIZE + 5); throw new Error("truncated archive"); }
      await expect(pipeline.addFile(broken())).rejects.toThrow("truncated archive");
      const ok = await pipeline.addFile([new Uint8Array([1, 2, 3])]);
      expect((await ok.blocks).length).toBe(1);
      await pipeline.finish();
    } finally {
      await store.close();
    }
  });
});
