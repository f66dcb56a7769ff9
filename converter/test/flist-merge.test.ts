import { describe, expect, it } from "vitest";
import { merge, mergeAll } from "../src/flist/merge.ts";
import type { DirNode, FlistNode, FlistTree, Owner } from "../src/flist/model.ts";
import { readFlist } from "../src/flist/reader.ts";
import { findView, lsView } from "../src/flist/views.ts";
import { writeFlist } from "../src/flist/writer.ts";
import { flistPath } from "./support/flist-fixtures.ts";
import { expectZflistViews } from "./support/flist-views.ts";

describe("merge (zflist semantics, docs/flist-format.md §4)", () => {
  it("merge(main, overlay) lists exactly like zflist's merged.flist, in zflist's order", async () => {
    const main = await readFlist(flistPath("main"));
    const overlay = await readFlist(flistPath("overlay"));
    const before = findView(main);
    const merged = merge(main, overlay);
    expectZflistViews(merged, "merged");
    // the written result too, and the inputs are untouched
    const written = await writeFlist(merged);
    expectZflistViews(await readFlist(written.bytes as Buffer), "merged");
    expect(findView(main)).toEqual(before);
  });

  const owner: Owner = { uid: 0, gid: 0, user: "root", group: "root" };
  const attrs = { mode: 0o644, owner, mtime: 1, ctime: 1, size: 0 };
  const file = (name: string, size = 0): FlistNode => ({ kind: "file", name, ...attrs, size, blocks: [] });
  const dir = (name: string, children: FlistNode[], mode = 0o755): DirNode => ({ kind: "dir", name, ...attrs, mode, size: 4096, children });
  const tree = (children: FlistNode[], metadata: [string, string][] = []): FlistTree => ({ root: dir("", children), metadata: new Map(metadata) });

  it("first wins on every clash (file vs dir both ways), dirs merge recursively, metadata of the first", () => {
    const a = tree([dir("x", [file("keep", 1)], 0o700), file("y", 1), dir("z", [])], [["backend", "A"]]);
    const b = tree(
      [file("x", 2), dir("y", [file("lost")]), dir("z", [file("new")]), file("late"), dir("fresh", [file("f")], 0o750)],
      [["backend", "B"], ["entrypoint", "[]"]],
    );
    const m = merge(a, b);
    expect(lsView(m, "/").map((e) => `${e.name}:${e.type}`)).toEqual([
      "x:directory", "y:regular file", "z:directory", "fresh:directory", "late:regular file",
    ]);
    expect(findView(m).content.map((c) => c.path)).toEqual(["/x", "/x/keep", "/y", "/z", "/z/new", "/fresh", "/fresh/f", "/late"]);
    expect((m.root.children[0] as DirNode).mode).toBe(0o700);
    expect((m.root.children[3] as DirNode).mode).toBe(0o750);
    expect([...m.metadata]).toEqual([["backend", "A"]]);
  });

  it("keeps only the first of duplicate names (zflist quirks), so the result can be written", async () => {
    const a = tree([file("d", 1), file("d", 2), dir("s", [file("x", 1), file("x", 2)])]);
    const m = merge(a, tree([dir("t", [file("y", 1), file("y", 2)])]));
    expect(findView(m).content).toEqual([
      { size: 1, path: "/d" }, { size: 4096, path: "/s" }, { size: 1, path: "/s/x" }, { size: 4096, path: "/t" }, { size: 1, path: "/t/y" },
    ]);
    expect(a.root.children).toHaveLength(3);
    await expect(writeFlist(m)).resolves.toMatchObject({ size: expect.any(Number) });
  });

  it("mergeAll: earlier flists win over later ones", () => {
    const m = mergeAll([tree([file("a", 1)]), tree([file("a", 2), file("b", 2)]), tree([file("b", 3), file("c", 3)])]);
    expect(findView(m).content).toEqual([{ size: 1, path: "/a" }, { size: 2, path: "/b" }, { size: 3, path: "/c" }]);
  });
});
