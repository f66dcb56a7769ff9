/**
 * The tar reader and tree builder on their own (no chunk store): archive features, zflist's listing order, and each
 * hostile-input rule failing with the entry and the rule named.
 */
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { DirNode, FlistNode } from "../src/flist/model.ts";
import { NO_OWNER_NAMES, hostOwnerNames, type OwnerNames } from "../src/ingest/owners.ts";
import { type IngestCaps, IngestError, type IngestRule, quoteName } from "../src/ingest/rules.ts";
import { type ArchiveEntry, ArchiveReader } from "../src/ingest/tar.ts";
import { TreeBuilder } from "../src/ingest/tree.ts";
import { type Member, makeTar, makeTarGz, rawHeader } from "./ingest-archives.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/flists");

/** Reads an archive into a tree; file blocks stay empty, the bytes of each file are returned by path. */
async function readTree(
  archive: Buffer | string,
  options: { caps?: Partial<IngestCaps>; owners?: OwnerNames } = {},
): Promise<{ root: DirNode; contents: Map<string, Buffer>; reader: ArchiveReader }> {
  const source = typeof archive === "string" ? fs.createReadStream(archive) : Readable.from([archive]);
  const reader = new ArchiveReader(source, { owners: NO_OWNER_NAMES, ...options });
  const builder = new TreeBuilder();
  const contents = new Map<string, Buffer>();
  try {
    for await (const e of reader.entries()) await add(e);
  } catch (err) {
    // A file body fails with the parser's raw error: the reader names the entry and the rule.
    throw reader.explain(err);
  }
  return { root: await builder.finish(), contents, reader };

  async function add(e: ArchiveEntry): Promise<void> {
    if (e.kind === "file") {
      const bytes: Buffer[] = [];
      for await (const chunk of e.body) bytes.push(Buffer.from(chunk));
      contents.set(e.parts.join("/"), Buffer.concat(bytes));
      builder.addFile(e.parts, e.attrs, e.size, Promise.resolve([]), e.entry);
    } else if (e.kind === "dir") builder.addDirectory(e.parts, e.attrs, e.entry);
    else if (e.kind === "link") builder.addLink(e.parts, e.attrs, e.target, e.entry);
    else if (e.kind === "hardlink") builder.addHardlink(e.parts, e.target, e.entry);
    else builder.addSpecial(e.parts, e.attrs, e.type, e.data, e.entry);
  }
}

function find(root: DirNode, p: string): FlistNode | undefined {
  let node: FlistNode | undefined = root;
  for (const part of p.split("/").filter(Boolean)) {
    node = node?.kind === "dir" ? node.children.find((c) => c.name === part) : undefined;
  }
  return node;
}

async function expectRule(archive: Buffer | Promise<Buffer>, rule: IngestRule, entry?: string, caps?: Partial<IngestCaps>) {
  const error = await readTree(await archive, { caps }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(IngestError);
  const e = error as IngestError;
  expect(e.rule).toBe(rule);
  if (entry !== undefined) expect(e.entry).toBe(entry);
  expect(e.message).toContain(`[rule: ${rule}]`);
  return e;
}

describe("tar reader on the fixture archives", () => {
  it("reads tree-main.tar.gz: every kind of entry with its attributes", async () => {
    const { root, contents, reader } = await readTree(path.join(FIXTURES, "tree-main.tar.gz"));
    expect(reader.counters.gzip).toBe(true);
    expect(reader.counters.entries).toBe(71);
    // The archive's ./ entry gives the root its attributes.
    expect(root).toMatchObject({ mode: 0o755, mtime: 1699990000, owner: { uid: 0, user: "root" } });
    expect(root.children.map((c) => c.name).slice(0, 3)).toEqual([".config", "bin", "data"]);
    expect(find(root, "dev/big-minor")).toMatchObject({ kind: "special", type: "chardev", data: "136,300", size: 0, mode: 0o620 });
    expect(find(root, "dev/loop-like")).toMatchObject({ kind: "special", type: "block", data: "7,0", owner: { gid: 6, group: "disk" } });
    expect(find(root, "dev/pipe")).toMatchObject({ kind: "special", type: "fifo", data: "(nothing)", owner: { user: "nobody" } });
    expect(find(root, "links/long-target")).toMatchObject({ kind: "link", size: 300, mode: 0o777 });
    expect(find(root, "links/abs-to-passwd")).toMatchObject({ kind: "link", target: "/etc/passwd", size: 11 });
    expect(find(root, "hard/second-name.txt")).toMatchObject({ kind: "file", size: 36, mode: 0o640, owner: { user: "cloudsdk" } });
    expect(find(root, "private/secret.key")).toMatchObject({ owner: { uid: 4242, gid: 4343, user: "4242", group: "4343" } });
    expect(find(root, "owners/mixed.txt")).toMatchObject({ owner: { user: "cloudsdk", group: "4343" } });
    expect(find(root, "names/日本/語.txt")).toMatchObject({ kind: "file", size: 10 });
    expect(find(root, `names/${"L".repeat(251)}.txt`)).toMatchObject({ kind: "file", size: 14 });
    expect(find(root, "modes/all-special-bits.bin")).toMatchObject({ mode: 0o7755 });
    expect(find(root, "times/after-2038.txt")).toMatchObject({ mtime: 2208988800, ctime: 2208988800 });
    expect(find(root, "times/epoch.txt")).toMatchObject({ mtime: 0 });
    expect(find(root, "setgid-shared")).toMatchObject({ kind: "dir", mode: 0o2775, size: 4096 });
    expect(contents.get("data/compressible-3000000.txt")?.length).toBe(3_000_000);
  });

  it("names numeric-owner members from the given passwd/group, else with the decimal id", async () => {
    const archive = path.join(FIXTURES, "tree-overlay.numeric.tar.gz");
    const numeric = await readTree(archive);
    expect(find(numeric.root, "opt/app/start.sh")).toMatchObject({ owner: { uid: 33, user: "33", group: "33" } });
    const named = await readTree(archive, { owners: hostOwnerNames() });
    expect(find(named.root, "opt/app/start.sh")).toMatchObject({ owner: { uid: 33, user: "www-data", group: "www-data" } });
  });
});

describe("tar reader features", () => {
  it("reads a plain (not gzipped) tar, PAX attributes and long UTF-8 names", async () => {
    const long = `dir/${"é".repeat(100)}/${"ü".repeat(120)}.txt`;
    const archive = await makeTar([
      { name: long, data: "pax", pax: { mtime: "1700000123.75", ctime: "1700000456.5", uid: "123456", uname: "someone" } },
      { name: "linked", type: "symlink", linkname: "x".repeat(200) },
    ]);
    const { root, reader } = await readTree(archive);
    expect(reader.counters.gzip).toBe(false);
    expect(find(root, long)).toMatchObject({ kind: "file", size: 3, mtime: 1700000123, ctime: 1700000456, owner: { uid: 123456, user: "someone" } });
    expect(find(root, "linked")).toMatchObject({ kind: "link", target: "x".repeat(200) });
  });

  it("lists sub-directories first, then the rest, each in byte order of the names", async () => {
    // U+1F600 (4 UTF-8 bytes, a surrogate pair in UTF-16) sorts after U+FFEE (3 bytes) by bytes, before it by UTF-16.
    const names = ["b", "B", "a", "é", "z", "\u{1F600}", "\uFFEE", "_"];
    const members: Member[] = [];
    for (const n of names) members.push({ name: `f/${n}`, data: n }, { name: `d/${n}/`, type: "directory" });
    const { root } = await readTree(await makeTar(members));
    const sorted = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((find(root, "f") as DirNode).children.map((c) => c.name)).toEqual(sorted);
    const mixed = await readTree(await makeTar([{ name: "m/zfile", data: "" }, { name: "m/adir/x", data: "" }, { name: "m/bdir", type: "directory" }, { name: "m/afile", data: "" }]));
    expect((find(mixed.root, "m") as DirNode).children.map((c) => c.name)).toEqual(["adir", "bdir", "afile", "zfile"]);
  });

  it("creates implied directories 0755 root:root with times 0", async () => {
    const { root } = await readTree(await makeTar([{ name: "a/b/c.txt", data: "x", uid: 7, uname: "seven" }]));
    expect(find(root, "a/b")).toMatchObject({ kind: "dir", mode: 0o755, mtime: 0, ctime: 0, size: 4096, owner: { uid: 0, user: "root", group: "root" } });
    expect(root).toMatchObject({ mode: 0o755, mtime: 0 });
  });

  it("later duplicates win; a repeated directory keeps its children", async () => {
    const { root, contents } = await readTree(
      await makeTar([
        { name: "d/", type: "directory", mode: 0o700 },
        { name: "d/keep.txt", data: "kept" },
        { name: "f.txt", data: "first" },
        { name: "f.txt", data: "second", mode: 0o600 },
        { name: "d/", type: "directory", mode: 0o750 },
        { name: "x", type: "directory" },
        { name: "x/inner", data: "gone" },
        { name: "x", type: "symlink", linkname: "d" },
      ]),
    );
    expect(find(root, "f.txt")).toMatchObject({ kind: "file", size: 6, mode: 0o600 });
    expect(contents.get("f.txt")?.toString()).toBe("second");
    expect(find(root, "d")).toMatchObject({ kind: "dir", mode: 0o750 });
    expect(find(root, "d/keep.txt")).toMatchObject({ kind: "file" });
    expect(find(root, "x")).toMatchObject({ kind: "link", target: "d" });
    expect(root.children.map((c) => c.name)).toEqual(["d", "f.txt", "x"]);
  });

  it("hardlinks copy their target (earlier or later in the stream)", async () => {
    const { root } = await readTree(
      await makeTar([
        { name: "early", type: "link", linkname: "later.txt" },
        { name: "later.txt", data: "content", mode: 0o640, uid: 5, uname: "five" },
        { name: "dir/again", type: "link", linkname: "./later.txt" },
        { name: "dev", type: "character-device", devmajor: 4, devminor: 64 },
        { name: "dev2", type: "link", linkname: "dev" },
      ]),
    );
    for (const name of ["early", "dir/again"]) {
      expect(find(root, name)).toMatchObject({ kind: "file", size: 7, mode: 0o640, owner: { uid: 5, user: "five" } });
    }
    expect(find(root, "dev2")).toMatchObject({ kind: "special", type: "chardev", data: "4,64" });
  });
});

describe("hostile archives fail with the entry and the rule", () => {
  it("'..' components and absolute paths", async () => {
    await expectRule(makeTar([{ name: "../evil.txt", data: "x" }]), "dot-dot", "../evil.txt");
    await expectRule(makeTar([{ name: "ok/../../evil.txt", data: "x" }]), "dot-dot", "ok/../../evil.txt");
    await expectRule(makeTar([{ name: "/etc/cron.d/evil", data: "x" }]), "absolute-path", "/etc/cron.d/evil");
    await expectRule(makeTar([{ name: "d/..", type: "directory" }]), "dot-dot");
  });

  it("entries under a symlinked (or non-directory) parent", async () => {
    await expectRule(
      makeTar([{ name: "escape", type: "symlink", linkname: "/etc" }, { name: "escape/passwd", data: "x" }]),
      "symlink-parent",
      "escape/passwd",
    );
    await expectRule(
      makeTar([{ name: "up", type: "symlink", linkname: ".." }, { name: "up/sub/f", data: "x" }]),
      "symlink-parent",
      "up/sub/f",
    );
    await expectRule(makeTar([{ name: "file", data: "x" }, { name: "file/inner", data: "y" }]), "parent-not-directory", "file/inner");
  });

  it("hardlinks to missing, escaping or directory targets", async () => {
    await expectRule(makeTar([{ name: "hl", type: "link", linkname: "nowhere.txt" }]), "hardlink-missing", "hl");
    await expectRule(makeTar([{ name: "hl", type: "link", linkname: "../outside" }]), "hardlink-escape", "hl");
    await expectRule(makeTar([{ name: "hl", type: "link", linkname: "/etc/shadow" }]), "hardlink-escape", "hl");
    await expectRule(
      makeTar([{ name: "s", type: "symlink", linkname: "/etc" }, { name: "hl", type: "link", linkname: "s/shadow" }]),
      "hardlink-escape",
      "hl",
    );
    await expectRule(makeTar([{ name: "d/", type: "directory" }, { name: "hl", type: "link", linkname: "d" }]), "hardlink-to-directory", "hl");
  });

  it("truncated archives (raw and gzip) and bad checksums", async () => {
    const tarball = await makeTar([{ name: "a.txt", data: "a".repeat(5000) }, { name: "b.txt", data: "b" }]);
    await expectRule(tarball.subarray(0, 2048), "truncated", "a.txt");
    await expectRule(tarball.subarray(0, 6000), "truncated");
    const gz = gzipSync(tarball);
    await expectRule(gz.subarray(0, gz.length - 20), "truncated");
    const corrupt = Buffer.from(tarball);
    const second = 512 + 5120; // header of b.txt
    corrupt[second + 10] = 0x41;
    await expectRule(corrupt, "bad-checksum", 'the member after "a.txt"');
  });

  it("data that is not a tar, a tar.gz, or valid gzip", async () => {
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    await expectRule(random, "not-an-archive", "archive");
    await expectRule(Buffer.from("hello, not an archive at all"), "not-an-archive", "archive");
    await expectRule(Buffer.concat([Buffer.from("BZh91AY&SY"), random]), "not-an-archive");
    await expectRule(gzipSync(random), "not-an-archive");
    const gz = gzipSync(await makeTar([{ name: "a", data: "x".repeat(100000) }]));
    for (let i = 30; i < 60; i++) gz[i] = gz[i]! ^ 0xff;
    await expectRule(gz, "bad-gzip");
  });

  it("names what an input that is no tar looks like, and the accepted formats", async () => {
    const accepted = "; accepted: .tar.gz (gzip-compressed tar) or .tar [rule: not-an-archive]";
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    const tarball = await makeTar([{ name: "a.txt", data: "a" }]);
    const cases: [string, Buffer, string][] = [
      ["text", Buffer.from("hello, not an archive at all\n"), "not a tar or tar.gz archive: the file looks like plain text"],
      ["utf-8 text", Buffer.from("h\u00e9llo \u2603 ".repeat(100)), "not a tar or tar.gz archive: the file looks like plain text"],
      ["html", Buffer.from("\n<!DOCTYPE html><html><body>Not found</body></html>"), "not a tar or tar.gz archive: the file looks like an HTML page"],
      ["zip", Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), random]), "not a tar or tar.gz archive: the file starts like a zip archive"],
      ["xz", Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), random]), "not a tar or tar.gz archive: the file starts like an xz-compressed file"],
      ["zstd", Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), random]), "not a tar or tar.gz archive: the file starts like a zstd-compressed file"],
      ["bzip2", Buffer.concat([Buffer.from("BZh91AY&SY"), random]), "not a tar or tar.gz archive: the file starts like a bzip2-compressed file"],
      ["binary", random, "not a tar or tar.gz archive: the file starts with neither a gzip signature nor a tar header"],
      ["gzip'd text", gzipSync(Buffer.from("just some text\n".repeat(100))), "not a tar.gz archive: the file is gzip-compressed, but what it holds looks like plain text, not a tar archive"],
      ["gzip'd zip", gzipSync(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), random])), "not a tar.gz archive: the file is gzip-compressed, but what it holds starts like a zip archive, not a tar archive"],
      ["tar.gz.gz", gzipSync(gzipSync(tarball)), "not a tar.gz archive: the file is gzip-compressed, but what it holds starts like gzip-compressed data, not a tar archive"],
    ];
    for (const [label, input, message] of cases) {
      const e = await expectRule(input, "not-an-archive", "archive");
      expect(e.message, label).toBe(`archive: ${message}${accepted}`);
    }
  });

  it("ends that message with the caller's accepted formats (image layers)", async () => {
    const reader = new ArchiveReader(Readable.from([Buffer.from("plain text")]), { accepted: "a layer is a tar" });
    const err = await (async () => {
      for await (const _ of reader.entries()) void _;
    })().catch((e: unknown) => e);
    expect((err as Error).message).toBe("archive: not a tar or tar.gz archive: the file looks like plain text; a layer is a tar [rule: not-an-archive]");
  });

  it("still reads what it read before: plain and gzip'd tars, empty inputs; short tars stay truncated", async () => {
    const tarball = await makeTar([{ name: "a.txt", data: "a" }]);
    for (const input of [tarball, gzipSync(tarball), Buffer.alloc(0), gzipSync(Buffer.alloc(0)), Buffer.alloc(1024)]) {
      await expect(readTree(input)).resolves.toBeDefined();
    }
    // Cut before the ustar magic can be seen: it may be a tar, the parser says truncated.
    await expectRule(tarball.subarray(0, 200), "truncated");
    await expectRule(Buffer.alloc(100), "truncated");
    await expectRule(gzipSync(tarball.subarray(0, 300)), "truncated");
  });

  it("gzip bombs: caps on expanded bytes and on entries", async () => {
    const bomb = await makeTarGz([{ name: "zeros.bin", data: Buffer.alloc(8 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expectRule(bomb, "expanded-size-cap", undefined, { maxExpandedBytes: 1024 * 1024 });
    const many = await makeTarGz(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, data: "" })));
    await expectRule(many, "entry-count-cap", "f20", { maxEntries: 20 });
    await expect(readTree(many, { caps: { maxEntries: 50 } })).resolves.toBeDefined();
  });

  it("limits on depth, name length, path length and symlink targets, each configurable", async () => {
    const deep = Array.from({ length: 10_000 }, () => "a").join("/");
    const tooDeep = await expectRule(makeTar([{ name: deep, data: "x" }]), "too-deep", deep);
    expect(tooDeep.message).toMatch(/^"a\/a\/a.*….*a\/a" \(19999 bytes\): path has 10000 components, more than the 256 allowed \[rule: too-deep\]$/);
    expect(tooDeep.message.length).toBeLessThan(200);
    await expectRule(makeTar([{ name: Array.from({ length: 8 }, () => "d").join("/"), data: "x" }]), "too-deep", undefined, { maxDepth: 7 });
    await expect(readTree(await makeTar([{ name: "d/d/d/d/d/d/d", data: "x" }]), { caps: { maxDepth: 7 } })).resolves.toBeDefined();

    const longName = "n".repeat(4096);
    const tooLong = await expectRule(makeTar([{ name: `dir/${longName}`, data: "x" }]), "name-too-long", `dir/${longName}`);
    expect(tooLong.message).toBe(`"dir/${"n".repeat(36)}…${"n".repeat(40)}" (4100 bytes): a component has 4096 bytes, more than the 255 allowed [rule: name-too-long]`);
    await expectRule(makeTar([{ name: "n".repeat(256), data: "x" }]), "name-too-long");
    await expect(readTree(await makeTar([{ name: "n".repeat(255), data: "x" }]))).resolves.toBeDefined();
    await expectRule(makeTar([{ name: "abcdefghijk", data: "x" }]), "name-too-long", undefined, { maxNameBytes: 10 });

    // 20 components of 250 bytes: each name and the depth are fine, the path (5019 bytes) is not.
    const wide = Array.from({ length: 20 }, (_, i) => String(i).padEnd(250, "w")).join("/");
    await expectRule(makeTar([{ name: wide, data: "x" }]), "path-too-long", wide);
    await expectRule(makeTar([{ name: "abc/def", data: "x" }]), "path-too-long", undefined, { maxPathBytes: 6 });
    await expect(readTree(await makeTar([{ name: "abc/def", data: "x" }]), { caps: { maxPathBytes: 7 } })).resolves.toBeDefined();
    await expectRule(makeTar([{ name: "l", type: "symlink", linkname: "t".repeat(4096) }]), "path-too-long", "l");
    await expectRule(makeTar([{ name: "hl", type: "link", linkname: deep }]), "too-deep", "hl");
  });

  it("refuses an entry as it arrives: the rest of the archive is never read", async () => {
    const bad = await makeTar([{ name: `${"n".repeat(300)}`, data: "x" }]);
    let pulled = 0;
    // An endless source after the offending member: a reader that waited for the end would never finish.
    async function* endless(): AsyncGenerator<Buffer> {
      pulled++;
      yield bad.subarray(0, bad.length - 1024);
      for (;;) {
        pulled++;
        yield Buffer.alloc(64 * 1024);
      }
    }
    const reader = new ArchiveReader(endless(), { owners: NO_OWNER_NAMES });
    const error = await (async () => {
      for await (const _ of reader.entries()) void _;
    })().catch((err: unknown) => reader.explain(err));
    expect(error).toMatchObject({ rule: "name-too-long" });
    expect(pulled).toBeLessThan(5);
  });

  it("quotes names in messages: control characters and quotes cannot break the line", async () => {
    const e = await expectRule(makeTar([{ name: '../a\nb"c', data: "x" }]), "dot-dot");
    expect(e.message).toBe(`"../a\\nb\\"c": '..' path components are not allowed [rule: dot-dot]`);
    expect(quoteName("x".repeat(81))).toBe(JSON.stringify("x".repeat(81)));
    expect(quoteName("é".repeat(100))).toBe(`"${"é".repeat(40)}…${"é".repeat(40)}" (200 bytes)`);
  });

  it("names that are not UTF-8, and unsupported member types", async () => {
    const bad = rawHeader({ name: "caf\xe9.txt", typeflag: "0" });
    await expectRule(Buffer.concat([bad, Buffer.alloc(1024)]), "non-utf8-name");
    const sparse = rawHeader({ name: "sparse.img", typeflag: "S" });
    await expectRule(Buffer.concat([sparse, Buffer.alloc(1024)]), "unsupported-type", "sparse.img");
    const paxSparse = await makeTar([{ name: "disk.img", data: "map", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": "1048576" } }]);
    await expectRule(paxSparse, "unsupported-type", "disk.img");
    const fine = rawHeader({ name: "caf\xc3\xa9.txt", typeflag: "0" });
    const { root } = await readTree(Buffer.concat([fine, Buffer.alloc(1024)]));
    expect(root.children.map((c) => c.name)).toEqual(["café.txt"]);
  });
});
