import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Block } from "../src/flist/model.ts";
import { MissingChunkError, readBlocks } from "../src/chunks/read.ts";
import { CHUNK_SIZE, encryptChunk, hex } from "../src/chunks/transform.ts";
import { findMissing } from "../src/chunks/verify.ts";
import { openStore, type ChunkStore } from "../src/store/index.ts";
import { startRedis, type RunningRedis } from "./support/redis.ts";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

/** Stores `data` cut in pieces the way the pipeline does (directly, to test reading on its own). */
async function storeFile(store: ChunkStore, data: Uint8Array): Promise<Block[]> {
  const blocks: Block[] = [];
  for (let off = 0; off < data.length; off += CHUNK_SIZE) {
    const c = encryptChunk(data.subarray(off, Math.min(data.length, off + CHUNK_SIZE)));
    await store.put(c.hash, c.data);
    blocks.push({ hash: c.hash, key: c.key });
  }
  return blocks;
}

describe("readBlocks and findMissing", () => {
  let redis: RunningRedis;
  let dir: string;
  const data = new Uint8Array(5 * CHUNK_SIZE + 1234).map((_, i) => (i * 2654435761) >>> 27);
  beforeAll(async () => {
    [redis, dir] = await Promise.all([startRedis(), mkdtemp(join(tmpdir(), "zhub-read-"))]);
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ["redis", "file"] as const) {
    it(`${kind}: reads a file back in order, with prefetch`, async () => {
      const store = await openStore(kind === "redis" ? redis.url : `file://${dir}/${kind}`);
      try {
        const blocks = await storeFile(store, data);
        expect((await collect(readBlocks(store, blocks, { prefetch: 3 }))).equals(data)).toBe(true);
        expect((await collect(readBlocks(store, blocks.slice(0, 1)))).equals(data.subarray(0, CHUNK_SIZE))).toBe(true);
        expect((await collect(readBlocks(store, [])))).toHaveLength(0);
      } finally {
        await store.close();
      }
    });
  }

  it("names the missing chunk and its block", async () => {
    const store = await openStore(`file://${dir}/missing`);
    const blocks = await storeFile(store, data);
    const gone = encryptChunk(new Uint8Array([1, 2, 3]));
    const withHole = [...blocks.slice(0, 2), { hash: gone.hash, key: gone.key }, ...blocks.slice(2)];
    const err = await collect(readBlocks(store, withHole)).catch((e) => e);
    expect(err).toBeInstanceOf(MissingChunkError);
    expect(err.message).toBe(`block 2: chunk ${hex(gone.hash)} is missing from file://${dir}/missing`);
  });

  it("detects a tampered value and a wrong decipher key", async () => {
    const store = await openStore(redis.url);
    try {
      const [block] = await storeFile(store, data.subarray(0, 1000));
      const stored = (await store.get(block!.hash))!.slice();
      stored[10]! ^= 1;
      await store.put(block!.hash, stored);
      await expect(collect(readBlocks(store, [block!]))).rejects.toThrow(
        new RegExp(`^block 0: chunk ${hex(block!.hash)}: stored value does not hash to its key`));
      const [other] = await storeFile(store, data.subarray(0, 999));
      const wrongKey = { hash: other!.hash, key: block!.key };
      await expect(collect(readBlocks(store, [wrongKey]))).rejects.toThrow(/^block 0: chunk [0-9a-f]{32}: (xxtea|snappy|integrity)/);
    } finally {
      await store.close();
    }
  });

  it("findMissing: batched, each missing key once, in first-appearance order", async () => {
    const store = await openStore(redis.url);
    try {
      const keys = Array.from({ length: 2500 }, (_, i) => Uint8Array.from(Buffer.from(`key-${i}`.padEnd(16, "."))));
      await Promise.all(keys.filter((_, i) => i % 7 !== 0).map((k) => store.put(k, k)));
      const asked = [...keys, ...keys.slice(0, 100)]; // repeated references
      const missing = await findMissing(store, asked, { batch: 300, parallel: 3 });
      expect(missing.map((k) => Buffer.from(k).toString())).toEqual(
        keys.filter((_, i) => i % 7 === 0).map((k) => Buffer.from(k).toString()));
      expect(await findMissing(store, [])).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
