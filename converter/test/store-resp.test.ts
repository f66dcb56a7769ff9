import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, StoreError, type ChunkStore } from "../src/store/index.ts";
import { startRedis, type RunningRedis } from "./support/redis.ts";

const key = (i: number) => {
  const k = new Uint8Array(16);
  new DataView(k.buffer).setUint32(0, i);
  k[15] = 0x00; k[14] = 0xff; // binary keys: NUL and high bytes must survive
  return k;
};

async function roundTrip(store: ChunkStore) {
  const value = new Uint8Array(70_000).map((_, i) => (i * 13) & 0xff);
  expect(await store.get(key(1))).toBeNull();
  expect(await store.exists([key(1), key(2)])).toEqual([false, false]);
  await store.put(key(1), value);
  await store.put(key(1), value); // idempotent (0-db answers nil here, Redis OK)
  expect(await store.exists([key(1), key(2)])).toEqual([true, false]);
  expect(Buffer.from((await store.get(key(1)))!).equals(Buffer.from(value))).toBe(true);
  // More keys than one pipelined batch, spread over the pool.
  const keys = Array.from({ length: 1300 }, (_, i) => key(1000 + i));
  await Promise.all(keys.filter((_, i) => i % 3 === 0).map((k) => store.put(k, new Uint8Array([1, 2, 3]))));
  const found = await store.exists(keys);
  expect(found).toEqual(keys.map((_, i) => i % 3 === 0));
}

describe("redis:// and zdb:// stores against a real redis-server", () => {
  let redis: RunningRedis;
  let secured: RunningRedis;
  beforeAll(async () => {
    [redis, secured] = await Promise.all([startRedis(), startRedis({ password: "s3cr3t-pw" })]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), secured?.stop()]);
  });

  it("redis:// put/get/exists, pipelined batches", async () => {
    const store = await openStore(redis.url, { poolSize: 3 });
    try {
      expect(store.description).toBe(redis.url);
      await roundTrip(store);
    } finally {
      await store.close();
    }
  });

  it("zdb:// in the default namespace speaks the same subset (SET answered OK is success)", async () => {
    const store = await openStore(`zdb://127.0.0.1:${redis.port}`);
    try {
      const v = new Uint8Array([9, 9, 9]);
      await store.put(key(77), v);
      expect(await store.get(key(77))).toEqual(v);
      expect(await store.exists([key(77), key(78)])).toEqual([true, false]);
    } finally {
      await store.close();
    }
  });

  it("zdb:// with a named namespace sends SELECT <ns> [password] raw; Redis refuses it with a clear error", async () => {
    // Real 0-db answers +OK to `SELECT fixtures-ns fixtures-pw` (clients-and-zdb.md §3.1); Redis has only
    // numeric databases (§3.4), so its refusal is what proves the raw SELECT went out as written.
    const err1 = await openStore(`zdb://127.0.0.1:${redis.port}/fixtures-ns`).catch((e) => e);
    expect(err1).toBeInstanceOf(StoreError);
    expect(err1.message).toBe(
      `chunk store zdb://127.0.0.1:${redis.port}/fixtures-ns: refused SELECT of namespace fixtures-ns (ERR value is not an integer or out of range)`);
    const err2 = await openStore(`zdb://:fixtures-pw@127.0.0.1:${redis.port}/fixtures-ns`).catch((e) => e);
    expect(err2).toBeInstanceOf(StoreError);
    expect(err2.message).toMatch(/^chunk store zdb:\/\/:\*\*\*@127\.0\.0\.1:\d+\/fixtures-ns: refused SELECT of namespace fixtures-ns \(ERR wrong number of arguments for 'select' command\)$/);
    expect(err2.message).not.toContain("fixtures-pw");
  });

  it("password: right one works, wrong or missing one is a clear error without the password", async () => {
    const good = await openStore(secured.url);
    try {
      expect(good.description).toBe(`redis://:***@127.0.0.1:${secured.port}`);
      await good.put(key(5), new Uint8Array([5]));
      expect(await good.exists([key(5)])).toEqual([true]);
    } finally {
      await good.close();
    }
    const wrong = await openStore(`redis://:nope-wrong@127.0.0.1:${secured.port}`).catch((e) => e);
    expect(wrong).toBeInstanceOf(StoreError);
    expect(wrong.message).toMatch(/chunk store redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: refused authentication \(WRONGPASS/);
    expect(wrong.message).not.toContain("nope-wrong");
    const none = await openStore(`redis://127.0.0.1:${secured.port}`).catch((e) => e);
    expect(none).toBeInstanceOf(StoreError);
    expect(none.message).toMatch(/refused: NOAUTH/);
  });

  it("unreachable store: clear error, quickly", async () => {
    const t0 = Date.now();
    const err = await openStore("zdb://:pw@127.0.0.1:1/ns", { connectTimeoutMs: 2000 }).catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/^chunk store zdb:\/\/:\*\*\*@127\.0\.0\.1:1\/ns: unreachable \(.*ECONNREFUSED/);
  });

  it("connections killed by the server are replaced transparently", async () => {
    const store = await openStore(redis.url, { poolSize: 2 });
    const admin = new Redis({ port: redis.port, host: "127.0.0.1", protocol: 2, lazyConnect: true });
    try {
      await store.put(key(300), new Uint8Array([3]));
      await admin.connect();
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      expect(await store.exists([key(300), key(301)])).toEqual([true, false]);
      expect(await store.get(key(300))).toEqual(new Uint8Array([3]));
    } finally {
      admin.disconnect();
      await store.close();
    }
  });

  it("a hung server (SIGSTOP): commands and connects time out with a StoreError, then recover", async () => {
    const own = await startRedis();
    const store = await openStore(own.url, { connectTimeoutMs: 400, commandTimeoutMs: 400 });
    try {
      await store.put(key(1), new Uint8Array([1]));
      process.kill(own.pid, "SIGSTOP");
      const t0 = Date.now();
      const err = await store.exists([key(1)]).catch((e) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(err.message).toMatch(/^chunk store redis:\/\/127\.0\.0\.1:\d+: (unreachable \(no answer to PING: (Command timed out|timed out after 400 ms)\)|EXISTS failed \(Command timed out\))$/);
      expect(Date.now() - t0).toBeLessThan(3000);
      const err2 = await openStore(own.url, { connectTimeoutMs: 400 }).catch((e) => e);
      expect(err2.message).toMatch(/: unreachable \(no answer to PING: timed out after 400 ms\)$/);
      process.kill(own.pid, "SIGCONT");
      expect(await store.exists([key(1)])).toEqual([true]);
    } finally {
      process.kill(own.pid, "SIGCONT");
      await store.close();
      await own.stop();
    }
  });

  it("redis stopped mid-way: operations fail with a StoreError, no hang", async () => {
    const own = await startRedis();
    const store = await openStore(own.url, { connectTimeoutMs: 1000 });
    try {
      await store.put(key(1), new Uint8Array([1]));
      // Observed at once: the writes may fail while the stop is still under way.
      const pending = Promise.all(Array.from({ length: 200 }, (_, i) => store.put(key(i), new Uint8Array(1000)))).then(
        () => null,
        (e: unknown) => e,
      );
      await own.stop();
      const err = await pending;
      // Either the writes raced ahead of the stop, or they failed; what follows must fail cleanly.
      if (err) expect(err).toBeInstanceOf(StoreError);
      const t0 = Date.now();
      const err2 = await store.exists([key(1)]).catch((e) => e);
      expect(err2).toBeInstanceOf(StoreError);
      expect(err2.message).toMatch(new RegExp(`^chunk store redis://127\\.0\\.0\\.1:${own.port}: unreachable`));
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
