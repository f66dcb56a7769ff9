import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, parseStoreUrl, redactUrl, StoreError } from "../src/store/index.ts";

describe("file:// store", () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "zhub-filestore-")); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it("stores content-addressed files at <dir>/<hex[0..2]>/<hex>, atomically", async () => {
    const root = join(dir, "store");
    const store = await openStore(pathToFileURL(root).href);
    const k = Uint8Array.from(Buffer.from("a5147f6e7cac3a7076f942cb5e00d896", "hex"));
    const v = new Uint8Array([1, 2, 3, 4]);
    expect(await store.get(k)).toBeNull();
    expect(await store.exists([k])).toEqual([false]);
    await Promise.all([store.put(k, v), store.put(k, v), store.put(k, v)]); // concurrent writers of one chunk
    expect(await store.exists([k, new Uint8Array(16)])).toEqual([true, false]);
    expect(await store.get(k)).toEqual(v);
    expect(await readdir(root)).toEqual(["a5"]);
    expect(await readdir(join(root, "a5"))).toEqual(["a5147f6e7cac3a7076f942cb5e00d896"]); // no temp files left
    const many = Array.from({ length: 300 }, (_, i) => Uint8Array.from([i & 0xff, i >> 8, 7]));
    await Promise.all(many.filter((_, i) => i % 2).map((key) => store.put(key, key)));
    expect(await store.exists(many)).toEqual(many.map((_, i) => i % 2 === 1));
    await store.close();
    expect(store.description).toBe(pathToFileURL(root).href);
  });

  it("keys too long for a hex file name (0-db allows 255 bytes) are stored under their sha256", async () => {
    const root = join(dir, "long");
    const store = await openStore(pathToFileURL(root).href);
    const long = new Uint8Array(255).fill(0xab);
    const edge = new Uint8Array(120).fill(0xcd); // the longest key kept under its own hex name
    await store.put(long, new Uint8Array([1]));
    await store.put(edge, new Uint8Array([2]));
    expect(await store.get(long)).toEqual(new Uint8Array([1]));
    expect(await store.exists([long, edge, new Uint8Array(254).fill(0xab)])).toEqual([true, true, false]);
    const sha = createHash("sha256").update(long).digest("hex");
    expect(await readdir(join(root, "ab"))).toEqual([`${sha}.long`]);
    expect(await readdir(join(root, "cd"))).toEqual(["cd".repeat(120)]);
    await store.close();
  });

  it("a directory that cannot be created is a clear error", async () => {
    const file = join(dir, "plain-file");
    await writeFile(file, "x");
    const err = await openStore(pathToFileURL(join(file, "sub")).href).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/^chunk store file:\/\/.*plain-file\/sub: cannot create directory/);
  });
});

describe("store URLs", () => {
  it("parses zdb, redis and file URLs", () => {
    expect(parseStoreUrl("zdb://:p%40ss@hub.grid.tf:9900/ns1")).toEqual({
      kind: "zdb", host: "hub.grid.tf", port: 9900, namespace: "ns1", password: "p@ss",
      description: "zdb://:***@hub.grid.tf:9900/ns1",
    });
    expect(parseStoreUrl("zdb://10.0.0.1")).toMatchObject({ port: 9900, namespace: null, password: null });
    expect(parseStoreUrl("redis://:pw@[::1]:6380/2")).toMatchObject({ kind: "redis", host: "::1", port: 6380, db: 2 });
    expect(parseStoreUrl("redis://localhost")).toMatchObject({ port: 6379, db: null });
    expect(parseStoreUrl("file:///var/lib/chunks")).toMatchObject({ kind: "file", dir: "/var/lib/chunks" });
  });
  it("rejects what it cannot use, without echoing the password", () => {
    expect(() => parseStoreUrl("http://:pw@x")).toThrow(/unsupported chunk store URL "http:\/\/:\*\*\*@x"/);
    expect(() => parseStoreUrl("redis://:pw@host/ns")).toThrow(/numeric db/);
    expect(() => parseStoreUrl("file://host/x")).toThrow(/file:\/\/\/path/);
    expect(() => parseStoreUrl("nonsense")).toThrow(/invalid chunk store URL/);
    expect(redactUrl("zdb://user:secret@h:1/ns")).toBe("zdb://:***@h:1/ns");
    expect(redactUrl("zdb://h:1/ns")).toBe("zdb://h:1/ns");
  });
});
