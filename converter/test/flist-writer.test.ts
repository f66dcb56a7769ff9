import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CollectBytes } from "../src/flist/archive.ts";
import { FlistTreeError } from "../src/flist/errors.ts";
import { aclKey, dirKey } from "../src/flist/keys.ts";
import type { DirNode, FileNode, FlistNode, FlistTree, Owner } from "../src/flist/model.ts";
import { readFlist } from "../src/flist/reader.ts";
import { findView, lsView, statView } from "../src/flist/views.ts";
import { writeFlist } from "../src/flist/writer.ts";
import { FIXTURES, FUNK, REFERENCE_FLISTS, flistPath } from "./support/flist-fixtures.ts";
import { expectZflistViews } from "./support/flist-views.ts";

const SCHEMA = join(import.meta.dirname, "../src/flist/flist.capnp");
const INSPECT = join(import.meta.dirname, "support/flist-inspect.py");
const work = mkdtempSync(join(tmpdir(), "flist-writer-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Inspection {
  members: { name: string; type: string; mode: number; uid: number; gid: number; uname: string; gname: string; mtime: number }[];
  header_18_19: number[];
  journal_mode: string;
  schema: (string | null)[];
  key_types: string[];
  value_types: string[];
  keys: string[];
  metadata: [string, string][];
  decoded?: string;
  violations?: string[];
}

/** Python's tarfile + sqlite3 and the `capnp decode` tool look at a written flist. */
function inspect(path: string, decode = true): Inspection {
  const args = [INSPECT, path, SCHEMA, ...(decode ? ["--decode"] : [])];
  return JSON.parse(execFileSync("python3", args, { maxBuffer: 64 << 20 }).toString("utf8")) as Inspection;
}

const expectedSchema = readFileSync(join(FIXTURES, "flistdb-schema.sql"), "utf8").trim().split("\n").map((l) => l.replace(/;$/, ""));

describe.each(REFERENCE_FLISTS)("writing %s.flist back", (name) => {
  it("reads back with the same zflist views, decodes with capnp, follows §9, deterministic", async () => {
    const tree = await readFlist(flistPath(name));
    const out = join(work, `${name}.flist`);
    const written = await writeFlist(tree, out);
    const back = await readFlist(out);
    expectZflistViews(back, name);
    expect(back).toEqual(tree);

    // Deterministic: bytes, path and stream outputs all agree.
    const again = await writeFlist(back);
    expect(again.md5).toBe(written.md5);
    expect(again.bytes?.equals(readFileSync(out))).toBe(true);
    const sink = new CollectBytes();
    expect((await writeFlist(tree, sink)).sha256).toBe(written.sha256);
    expect(sink.bytes().length).toBe(written.size);

    const facts = inspect(out);
    expect(facts.members.map((m) => [m.name, m.type, m.mode])).toEqual([[".", "5", 0o755], ["./flistdb.sqlite3", "0", 0o644]]);
    expect(facts.header_18_19).toEqual([1, 1]);
    expect(facts.journal_mode).toBe("delete");
    expect(facts.schema.filter((s) => s !== null)).toEqual(expectedSchema);
    expect(facts.key_types).toEqual(["text"]);
    expect(facts.value_types).toEqual(["blob"]);
    for (const key of facts.keys) expect(key).toMatch(/^([0-9a-f]{32}|[0-9a-f]{16})$/);
    expect(facts.keys).toContain(dirKey(""));
    expect(facts.metadata).toEqual([...tree.metadata].sort(([a], [b]) => (a < b ? -1 : 1)));
    // Entries as the reference `capnp decode` prints them. zflist's own db differs only for the
    // edited flist (chmod leaves a directory record's ACL stale, orphan ACLs, a self parent).
    const reference = readFileSync(join(FIXTURES, `${name}.flist.expected/db-entries-decoded.txt`), "utf8");
    if (name !== "edited") expect(facts.decoded?.trim()).toBe(reference.trim());
    expect(facts.violations).toEqual([]);
  });
});

describe("writer details", () => {
  const owner: Owner = { uid: 0, gid: 0, user: "root", group: "root" };
  const base = { mode: 0o644, owner, mtime: 1_700_000_000, ctime: 1_700_000_001, size: 0 };
  const root = (children: FlistNode[]): DirNode => ({ kind: "dir", name: "", ...base, mode: 0o755, size: 4096, children });

  it("writes specials with their real type, keeps device data, parent keys and times", async () => {
    const tree: FlistTree = {
      root: root([
        {
          kind: "dir", name: "dev", ...base, mode: 0o755, size: 4096, children: [
            { kind: "special", name: "sock", ...base, type: "socket", data: "(nothing)" },
            { kind: "special", name: "sda", ...base, type: "block", data: "8,0" },
            { kind: "special", name: "null", ...base, type: "chardev", data: "1,3" },
            { kind: "special", name: "fifo", ...base, type: "fifo", data: "(nothing)" },
            { kind: "special", name: "odd", ...base, type: "unknown", data: "" },
          ],
        },
      ]),
      metadata: new Map([["backend", '{"host": "hub.grid.tf", "port": 9900}']]),
    };
    const out = join(work, "specials.flist");
    await writeFlist(tree, out);
    const back = await readFlist(out);
    expect(back).toEqual(tree);
    expect(lsView(back, "/dev").map((e) => e.type)).toEqual(["unix socket", "block device", "character device", "fifo", "unknown"]);
    expect(statView(back, "/dev/sda", { device: "data" }).device).toBe("8,0");
    const facts = inspect(out);
    expect(facts.violations).toEqual([]);
    const decoded = facts.decoded as string;
    expect(decoded).toContain('special = (type = block, data = "8,0")');
    expect(decoded).toContain('special = (type = chardev, data = "1,3")');
    expect(decoded).toContain('special = (type = fifopipe, data = "(nothing)")');
    expect(decoded).toContain(`parent = "${dirKey("")}"`);
    expect(decoded).toContain(`== ${aclKey({ user: "root", group: "root", mode: 0o644, uid: 0, gid: 0 })} (ACI)`);
  });

  it("uses the root's mtime in tar headers, never the clock", async () => {
    const tree: FlistTree = { root: { ...root([]), mtime: 1_600_000_000 }, metadata: new Map() };
    const out = join(work, "mtime.flist");
    await writeFlist(tree, out);
    expect(inspect(out, false).members.map((m) => m.mtime)).toEqual([1_600_000_000, 1_600_000_000]);
  });

  it("refuses trees other readers would misread", async () => {
    const file = (name: string, extra: Partial<FileNode> = {}): FileNode => ({ kind: "file", name, ...base, blocks: [], ...extra });
    const bad: [string, DirNode][] = [
      ["duplicate name", root([file("a"), file("a")])],
      ["invalid entry name", root([file("a/b")])],
      ["invalid entry name", root([file("..")])],
      ["permission bits", root([file("a", { mode: 0o100644 })])],
      ["u32", root([file("a", { mtime: 2 ** 32 })])],
      ["16 bytes", root([file("a", { size: 1, blocks: [{ hash: new Uint8Array(15), key: new Uint8Array(16) }] })])],
      ["512 KiB chunks need 2", root([file("a", { size: 524_289, blocks: [{ hash: new Uint8Array(16), key: new Uint8Array(16) }] })])],
      ["invalid entry name", root([file("bad\ud800")])],
      ["lone surrogate", root([{ kind: "link", name: "l", ...base, target: "x\udc00" }])],
      ["unknown special type", root([{ kind: "special", name: "s", ...base, type: "toString" as "socket", data: "" }])],
    ];
    for (const [rule, dir] of bad) {
      await expect(writeFlist({ root: dir, metadata: new Map() })).rejects.toThrow(FlistTreeError);
      await expect(writeFlist({ root: dir, metadata: new Map() })).rejects.toThrow(rule);
    }
  });

  it("round-trips the real hub flist (funk)", async () => {
    const tree = await readFlist(FUNK);
    const written = await writeFlist(tree);
    const back = await readFlist(written.bytes as Buffer);
    expect(findView(back)).toEqual(findView(tree));
    expect(back).toEqual(tree);
  });
});
