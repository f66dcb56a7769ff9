/**
 * The RESP chunk store (converter/src/store/resp.ts): one suite run against every backend of
 * support/store-backends.ts — redis-server, the real 0-db 2.0.7 (incl. a namespace with a password and public
 * reads) and the embedded 0-db server of `npm start` — then what only Redis has (AUTH passwords, numeric dbs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, StoreError, type ChunkStore } from "../src/store/index.ts";
import { BACKENDS, NAMESPACE, PASSWORD, type RunningBackend } from "./support/store-backends.ts";
import { startRedis, type RunningRedis } from "./support/redis.ts";

const key = (i: number) => {
  const k = new Uint8Array(16);
  new DataView(k.buffer).setUint32(0, i);
  k[15] = 0x00; k[14] = 0xff; k[13] = 0x0d; k[12] = 0x0a; // binary keys: NUL, CR, LF and high bytes must survive
  return k;
};

const redacted = (url: string) => url.replace(/\/\/:[^@]*@/, "//:***@");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

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

for (const backend of BACKENDS) {
  describe(`chunk store on ${backend.name}`, () => {
    let server: RunningBackend;
    beforeAll(async () => {
      server = await backend.start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("put/get/exists, pipelined batches over the pool, the description without the password", async () => {
      const store = await openStore(server.url, { poolSize: 3 });
      try {
        expect(store.description).toBe(redacted(server.url));
        await roundTrip(store);
      } finally {
        await store.close();
      }
    });

    it("keys up to 0-db's 255 bytes, an empty value, a 4 MiB value", async () => {
      const store = await openStore(server.url);
      try {
        const long = new Uint8Array(255).map((_, i) => (i * 31) & 0xff);
        const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
        await store.put(long, new Uint8Array([4, 2]));
        await store.put(key(9), new Uint8Array(0));
        await store.put(key(10), big);
        expect(await store.get(long)).toEqual(new Uint8Array([4, 2]));
        expect(await store.get(key(9))).toEqual(new Uint8Array(0));
        expect(Buffer.from((await store.get(key(10)))!).equals(big)).toBe(true);
        expect(await store.exists([long, key(9), key(10), key(11)])).toEqual([true, true, true, false]);
      } finally {
        await store.close();
      }
    });

    it("connections dropped by the server are replaced transparently; what was stored is still there", async () => {
      const store = await openStore(server.url, { poolSize: 2 });
      try {
        await store.put(key(300), new Uint8Array([3]));
        await server.dropConnections();
        expect(await store.exists([key(300), key(301)])).toEqual([true, false]);
        expect(await store.get(key(300))).toEqual(new Uint8Array([3]));
        await store.put(key(301), new Uint8Array([4]));
        expect(await store.get(key(301))).toEqual(new Uint8Array([4]));
      } finally {
        await store.close();
      }
    });

    if (backend.namespaced) {
      it("public reads without the password; writes without it, or with a wrong one, are refused clearly", async () => {
        const writer = await openStore(server.url);
        const reader = await openStore(server.readUrl!);
        try {
          await writer.put(key(500), new Uint8Array([5, 0, 0]));
          expect(await reader.get(key(500))).toEqual(new Uint8Array([5, 0, 0]));
          expect(await reader.exists([key(500), key(501)])).toEqual([true, false]);
          const err = await reader.put(key(501), new Uint8Array([1])).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreError);
          expect((err as Error).message).toBe(`chunk store ${server.readUrl}: SET refused (Namespace is in read-only mode)`);
          expect(await writer.exists([key(501)])).toEqual([false]);
        } finally {
          await Promise.all([writer.close(), reader.close()]);
        }
        const wrongUrl = server.url.replace(`:${PASSWORD}@`, ":not-the-password@");
        const wrong = await openStore(wrongUrl).catch((e: unknown) => e);
        expect(wrong).toBeInstanceOf(StoreError);
        expect((wrong as Error).message).toBe(`chunk store ${redacted(wrongUrl)}: refused SELECT of namespace ${NAMESPACE} (Access denied)`);
        const missing = await openStore(server.url.replace(`/${NAMESPACE}`, "/no-such-ns")).catch((e: unknown) => e);
        expect((missing as Error).message).toMatch(/: refused SELECT of namespace no-such-ns \(Namespace not found\)$/);
      });
    }

    if (backend.ownProcess) {
      it("a hung server (SIGSTOP): commands and connects time out with a StoreError, then recover", async () => {
        const own = await backend.start();
        const store = await openStore(own.url, { connectTimeoutMs: 400, commandTimeoutMs: 400 });
        const description = escape(redacted(own.url));
        try {
          await store.put(key(1), new Uint8Array([1]));
          process.kill(own.pid!, "SIGSTOP");
          const t0 = Date.now();
          const err = await store.exists([key(1)]).catch((e) => e);
          expect(err).toBeInstanceOf(StoreError);
          expect(err.message).toMatch(new RegExp(`^chunk store ${description}: (unreachable \\(no answer to (PING|SELECT of namespace \\S+): (Command timed out|timed out after 400 ms)\\)|EXISTS failed \\(Command timed out\\))$`));
          expect(Date.now() - t0).toBeLessThan(3000);
          const err2 = await openStore(own.url, { connectTimeoutMs: 400 }).catch((e) => e);
          expect(err2.message).toMatch(/: unreachable \(no answer to (PING|SELECT of namespace \S+): timed out after 400 ms\)$/);
          process.kill(own.pid!, "SIGCONT");
          expect(await store.exists([key(1)])).toEqual([true]);
        } finally {
          process.kill(own.pid!, "SIGCONT");
          await store.close();
          await own.stop();
        }
      });
    }

    it("the server stopped mid-way: operations fail with a StoreError naming the store, no hang", async () => {
      const own = await backend.start();
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
        expect(err2.message).toMatch(new RegExp(`^chunk store ${escape(redacted(own.url))}: unreachable \\(.*ECONNREFUSED`));
        expect(Date.now() - t0).toBeLessThan(3000);
      } finally {
        await store.close();
        await own.stop();
      }
    });
  });
}

describe("what only Redis has", () => {
  let redis: RunningRedis;
  let secured: RunningRedis;
  beforeAll(async () => {
    [redis, secured] = await Promise.all([startRedis(), startRedis({ password: "s3cr3t-pw" })]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), secured?.stop()]);
  });

  it("zdb:// with a named namespace sends SELECT <ns> [password] raw; Redis refuses it with a clear error", async () => {
    // 0-db answers +OK (the suite above); Redis has only numeric databases, so its refusal is what proves the raw
    // SELECT went out as written.
    const err1 = await openStore(`zdb://127.0.0.1:${redis.port}/fixtures-ns`).catch((e) => e);
    expect(err1).toBeInstanceOf(StoreError);
    expect(err1.message).toBe(
      `chunk store zdb://127.0.0.1:${redis.port}/fixtures-ns: refused SELECT of namespace fixtures-ns (ERR value is not an integer or out of range)`);
    const err2 = await openStore(`zdb://:fixtures-pw@127.0.0.1:${redis.port}/fixtures-ns`).catch((e) => e);
    expect(err2).toBeInstanceOf(StoreError);
    expect(err2.message).toMatch(/^chunk store zdb:\/\/:\*\*\*@127\.0\.0\.1:\d+\/fixtures-ns: refused SELECT of namespace fixtures-ns \(ERR wrong number of arguments for 'select' command\)$/);
    expect(err2.message).not.toContain("fixtures-pw");
  });

  it("AUTH password: right one works, wrong or missing one is a clear error without the password", async () => {
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
});
