import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { CollectBytes, packArchive } from "../src/flist/archive.ts";
import { encodeAci, encodeDir, type InodeRecord } from "../src/flist/codec.ts";
import { FlistFormatError } from "../src/flist/errors.ts";
import { ROOT_KEY, aclKey, dirKey } from "../src/flist/keys.ts";
import { openFlist, readFlist } from "../src/flist/reader.ts";
import { findView } from "../src/flist/views.ts";
import { FLIST_SCHEMA, writeFlist } from "../src/flist/writer.ts";
import { flistPath } from "./support/flist-fixtures.ts";

const ACL = aclKey({ user: "root", group: "root", mode: 0o755, uid: 0, gid: 0 });
const aci = encodeAci({ uname: "root", gname: "root", mode: 0o755, uid: 0n, gid: 0n });

function dirValue(location: string, contents: InodeRecord[] = []): Uint8Array {
  return encodeDir({
    name: location.split("/").pop() ?? "", location, contents, parent: ROOT_KEY, size: 4096n, aclkey: ACL,
    modificationTime: 0, creationTime: 0,
  });
}

function subdir(name: string, key: string, aclkey = ACL): InodeRecord {
  return { name, size: 4096n, attributes: { kind: "dir", key }, aclkey, modificationTime: 0, creationTime: 0 };
}

/** An SQLite database (bytes) with the given entries; zflist's schema unless `schema` is given. */
function database(entries: [string, Uint8Array][], schema: readonly string[] = FLIST_SCHEMA): Buffer {
  const db = new Database(":memory:");
  for (const s of schema) db.exec(s);
  for (const [key, value] of entries) db.prepare("INSERT INTO entries (key, value) VALUES (?, ?)").run(key, Buffer.from(value));
  const bytes = db.serialize();
  db.close();
  return bytes;
}

async function flistOf(db: Uint8Array): Promise<Buffer> {
  const sink = new CollectBytes();
  await packArchive(db, 0, sink);
  return sink.bytes();
}

async function tarGz(members: { name: string; data?: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) {
    if (m.data) pack.entry({ name: m.name, type: "file", mode: 0o644 }, m.data);
    else pack.entry({ name: m.name, type: "directory", mode: 0o755 });
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack as AsyncIterable<Buffer>) parts.push(part);
  return gzipSync(Buffer.concat(parts));
}

async function rejects(input: Uint8Array | Promise<Uint8Array>, message: RegExp, options = {}): Promise<void> {
  const bytes = await input;
  const error = await readFlist(bytes, options).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FlistFormatError);
  expect((error as Error).message).toMatch(message);
}

describe("hostile and broken flists fail with a clear FlistFormatError", () => {
  it("not gzip", () => rejects(randomBytes(2000), /not a valid gzip stream/));
  it("truncated gzip", () => rejects(readFileSync(flistPath("main")).subarray(0, 3000), /gzip stream/));
  it("gzip but not tar", () => rejects(gzipSync(randomBytes(4096)), /not a valid tar archive/));
  it("tar without the database", () =>
    rejects(tarGz([{ name: "./" }, { name: "./router.yaml", data: Buffer.from("pools: {}\n") }]), /no flistdb\.sqlite3 member/));
  it("member name with ..", () => rejects(tarGz([{ name: "../flistdb.sqlite3", data: Buffer.from("x") }]), /contains "\.\."/));
  it("database that is not SQLite", () => rejects(flistOf(randomBytes(8192)), /not a valid SQLite database/));
  it("SQLite without an entries table", () =>
    rejects(flistOf(database([], ["CREATE TABLE other (a)"])), /no entries table/));
  it("SQLite with corrupt pages", () => {
    const db = database([[ROOT_KEY, dirValue("")], [ACL, aci]]);
    const pageSize = db.readUInt16BE(16);
    db.fill(0xa5, pageSize, 3 * pageSize); // the b-tree pages after the schema page
    return rejects(flistOf(db), /cannot read .* from flistdb\.sqlite3|not a valid SQLite database/);
  });
  it("no root directory", () => rejects(flistOf(database([[ACL, aci]])), /no root directory entry/));
  it("Cap'n Proto garbage", async () => {
    await rejects(flistOf(database([[ROOT_KEY, randomBytes(256)], [ACL, aci]])), /corrupt Cap'n Proto Dir in entry cae66941/);
    // a plausible segment table with garbage pointers
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 31, 0, 0, 0]), randomBytes(248)]);
    await rejects(flistOf(database([[ROOT_KEY, framed], [ACL, aci]])), /corrupt Cap'n Proto Dir in entry cae66941/);
    // a valid root whose ACL record is garbage
    await rejects(flistOf(database([[ROOT_KEY, dirValue("")], [ACL, randomBytes(64)]])), /corrupt Cap'n Proto ACI/);
  });
  it("Cap'n Proto list of 2^28 zero-sized elements (amplification)", () => {
    const words = new BigUint64Array(11);
    words[0] = 9n << 32n; // stream header: 1 segment of 9 words
    words[1] = (5n << 48n) | (2n << 32n); // root: struct at +0, 2 data words, 5 pointers
    words[6] = (7n << 32n) | 9n; // Dir.contents: composite list at +2, 0 words of elements
    words[9] = BigInt(2 ** 28) << 2n; // list tag: 2^28 elements of 0 data / 0 pointers
    const message = new Uint8Array(words.buffer, 0, 80);
    return rejects(flistOf(database([[ROOT_KEY, message], [ACL, aci]])), /corrupt Cap.n Proto Dir in entry cae66941/);
  });
  it("directory cycle", () =>
    rejects(flistOf(database([[ROOT_KEY, dirValue("", [subdir("loop", ROOT_KEY)])], [ACL, aci]])), /directory cycle: "\/loop"/));
  it("deeper cycle", () => {
    const a = dirKey("a");
    return rejects(
      flistOf(database([[ROOT_KEY, dirValue("", [subdir("a", a)])], [a, dirValue("a", [subdir("b", a)])], [ACL, aci]])),
      /directory cycle: "\/a\/b"/,
    );
  });
  it("missing sub-directory entry", () =>
    rejects(flistOf(database([[ROOT_KEY, dirValue("", [subdir("gone", dirKey("gone"))])], [ACL, aci]])), /directory entry .* "\/gone" is missing/));
  it("missing ACL", () =>
    rejects(flistOf(database([[ROOT_KEY, dirValue("", [subdir("a", dirKey("a"), "0123456789abcdef")])], [dirKey("a"), dirValue("a")], [ACL, aci]])),
      /ACL entry "0123456789abcdef" of "\/a" is missing/));
  it("database larger than maxDatabaseBytes", () =>
    rejects(readFileSync(flistPath("main")), /limit maxDatabaseBytes/, { maxDatabaseBytes: 10_000 }));
  it("archive expanding past maxArchiveBytes (gzip bomb)", () =>
    rejects(gzipSync(Buffer.alloc(64 << 20)), /limit maxArchiveBytes/, { maxArchiveBytes: 1 << 20 }));
  it("DAG blow-up past maxEntries", () => {
    // every level holds two entries pointing at the same next directory: 2^n paths
    const entries: [string, Uint8Array][] = [[ACL, aci]];
    const levels = 20;
    for (let i = 0; i < levels; i++) {
      const here = i === 0 ? ROOT_KEY : dirKey(`l${i}`);
      const next = dirKey(`l${i + 1}`);
      entries.push([here, dirValue(i === 0 ? "" : `l${i}`, i + 1 < levels ? [subdir("x", next), subdir("y", next)] : [])]);
    }
    return rejects(flistOf(database(entries)), /limit maxEntries/, { maxEntries: 20_000 });
  });
});

describe("deep nesting", () => {
  /** A chain d/d/d/… of `depth` directories below the root. */
  const chain = (depth: number): Promise<Buffer> => {
    const entries: [string, Uint8Array][] = [[ACL, aci]];
    let location = "";
    for (let i = 0; i <= depth; i++) {
      const child = location === "" ? "d" : `${location}/d`;
      entries.push([dirKey(location), dirValue(location, i < depth ? [subdir("d", dirKey(child))] : [])]);
      location = child;
    }
    return flistOf(database(entries));
  };
  it("2048 levels read, write and read back", async () => {
    const tree = await readFlist(await chain(2048));
    const back = await readFlist((await writeFlist(tree)).bytes as Buffer);
    expect(findView(back).directory).toBe(2048);
  });
  it("deeper than maxDepth is refused", () => rejects(chain(2049), /nested deeper than 2048 levels/));
});

describe("non-UTF-8 names", () => {
  // "café" is written as UTF-8 (c3 a9) and then patched to Latin-1 (e9) followed by "A"
  const latin1 = async (): Promise<Buffer> => {
    const file: InodeRecord = {
      name: "caf\u00e9", size: 0n, attributes: { kind: "file", blockSize: 128, blocks: [] }, aclkey: ACL, modificationTime: 0, creationTime: 0,
    };
    const value = Buffer.from(dirValue("", [file]));
    const at = value.indexOf(Buffer.from("caf\u00e9"));
    value[at + 3] = 0xe9;
    value[at + 4] = 0x41;
    return flistOf(database([[ROOT_KEY, value], [ACL, aci]]));
  };
  it("are refused by default, with the name shown", () => rejects(latin1(), /entry name "caf\uFFFDA" is not valid UTF-8/));
  it("can be read lossily for listing", async () => {
    const tree = await readFlist(await latin1(), { strictUtf8: false });
    expect(tree.root.children.map((c) => c.name)).toEqual(["caf\uFFFDA"]);
  });
});

describe("tolerated legacy shapes", () => {
  it("a flist without a metadata table reads with no metadata", async () => {
    const bytes = await flistOf(database([[ROOT_KEY, dirValue("")], [ACL, aci]], [FLIST_SCHEMA[0] as string]));
    const reader = await openFlist(bytes);
    expect(reader.metadata().size).toBe(0);
    expect(reader.tree().root.children).toEqual([]);
    reader.close();
  });

  it("a SubDir.key without entry falls back to the path key, as zflist and 0-fs look directories up", async () => {
    const a = dirKey("a");
    const bytes = await flistOf(database([
      [ROOT_KEY, dirValue("", [subdir("a", "ffffffffffffffffffffffffffffffff")])],
      [a, dirValue("a", [subdir("b", dirKey("a/b"))])],
      [dirKey("a/b"), dirValue("a/b")],
      [ACL, aci],
    ]));
    const tree = await readFlist(bytes);
    expect(tree.root.children.map((c) => (c.kind === "dir" ? [c.name, c.children.map((d) => d.name)] : []))).toEqual([["a", ["b"]]]);
  });

  it("dir(location) loads one directory by its path key", async () => {
    const reader = await openFlist(flistPath("main"));
    expect(reader.dir("/deep/l1/l2/l3/l4/l5/l6/")?.children.map((c) => c.name)).toEqual(["leaf.txt"]);
    expect(reader.dir("no/such")).toBeUndefined();
    reader.close();
  });
});
