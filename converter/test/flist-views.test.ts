import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { extractDatabase, sourceOf } from "../src/flist/archive.ts";
import { decodeDir } from "../src/flist/codec.ts";
import { dirKey } from "../src/flist/keys.ts";
import { readFlist } from "../src/flist/reader.ts";
import type { FlistTree } from "../src/flist/model.ts";
import { entryTypes, findView, lsView, metadataGetView, metadataListView, metadataObject, statView, zflistJson } from "../src/flist/views.ts";
import { entryTypesSchema } from "../../protocol/publish.ts";
import { FUNK, REFERENCE_FLISTS, expectedCases, flistPath, funkExpected } from "./support/flist-fixtures.ts";
import { expectZflistViews } from "./support/flist-views.ts";

describe.each(REFERENCE_FLISTS)("zflist views of %s.flist", (name) => {
  let tree: FlistTree;
  beforeAll(async () => {
    tree = await readFlist(flistPath(name));
  });
  it("find, ls, stat, metadata and error cases equal zflist's JSON", () => {
    expectZflistViews(tree, name);
  });
});

describe.each(REFERENCE_FLISTS)("entry types of %s.flist (the hub's tree, protocol/publish.ts)", (name) => {
  it("one letter per find entry, the type zflist's stat gives it, symlink targets as its linkto", async () => {
    const tree = await readFlist(flistPath(name));
    const entries = entryTypesSchema.parse(entryTypes(tree));
    const find = findView(tree).content;
    const stat = new Map(expectedCases(name, "stat.json").map((c) => [c.path, c.output.response as { linkto?: string }]));
    const types = new Map(expectedCases(name, "stat.json").map((c) => [c.path, (c as unknown as { type: string }).type]));
    expect(entries.types).toHaveLength(find.length);
    const letter = (type: string | undefined) =>
      type === "directory" ? "d" : type === "regular file" ? "f" : type === "symlink" ? "l" : "s";
    expect(entries.types).toBe(find.map((e) => letter(types.get(e.path))).join(""));
    expect(entries.targets).toEqual(find.filter((e) => types.get(e.path) === "symlink").map((e) => stat.get(e.path)?.linkto));
  });
});

it("main.flist: its symlinks and its empty directory are typed as such", async () => {
  const tree = await readFlist(flistPath("main"));
  const find = findView(tree).content;
  const { types, targets } = entryTypes(tree);
  const typeOf = (path: string) => types[find.findIndex((e) => e.path === path)];
  expect(typeOf("/empty-dir")).toBe("d");
  expect(typeOf("/links/dangling")).toBe("l");
  expect(targets).toContain("../does/not/exist.txt");
});

describe("views details", () => {
  it("metadata values: objects/arrays parsed, anything else a raw string", async () => {
    const tree = await readFlist(flistPath("meta"));
    const object = metadataObject(tree);
    expect(Object.keys(object)).toEqual(["backend", "entrypoint", "environ", "maintainer", "port", "readme", "volume"]);
    expect(object.maintainer).toBe("fixtures@example.invalid");
    expect(object.backend).toEqual({ namespace: "fixtures-ns", password: "fixtures-pw", host: "127.0.0.1", port: 9911 });
    tree.metadata.set("number", "123");
    expect(metadataGetView(tree, "number").value).toBe("123");
    expect(zflistJson(() => metadataGetView(tree, "nope"))).toEqual({
      success: false, error: { function: "metadata", message: "metadata not found" }, response: {},
    });
  });

  it("stat can show the stored device data instead of zflist's empty string", async () => {
    const tree = await readFlist(flistPath("main"));
    expect(statView(tree, "/dev/big-minor").device).toBe("");
    expect(statView(tree, "/dev/big-minor", { device: "data" }).device).toBe("136,300");
    expect(statView(tree, "/dev/pipe", { device: "data" }).device).toBe("(nothing)");
    expect(statView(tree, "dev/pipe/").file).toBe("/dev/pipe");
  });
});

describe("real hub flist (funk)", () => {
  it("reads 6,881 directories, 30,370 files, 830 symlinks and equals zflist's find/ls/metadata", async () => {
    const tree = await readFlist(FUNK);
    const expected = funkExpected();
    const find = findView(tree);
    expect(find).toEqual(expected.find);
    expect(find.directory + 1).toBe(6881);
    expect(find.regular).toBe(30370);
    expect(find.symlink).toBe(830);
    let blocks = 0;
    const walk = (dir: FlistTree["root"]): void => {
      for (const c of dir.children) {
        if (c.kind === "file") blocks += c.blocks.length;
        if (c.kind === "dir") walk(c);
      }
    };
    walk(tree.root);
    expect(blocks).toBe(30851);
    expect(lsView(tree, "/")).toEqual(expected.lsRoot);
    expect(metadataListView(tree)).toEqual(expected.metadata);
  });

  it("has multi-segment messages (far pointers) and every Dir sits at dirKey(location)", async () => {
    const db = new Database(await extractDatabase(sourceOf(FUNK)));
    const rows = db.prepare("SELECT key, value FROM entries WHERE length(key) = 32").all() as { key: string; value: Buffer }[];
    db.close();
    const segments = rows.map((r) => r.value.readUInt32LE(0) + 1);
    expect(rows).toHaveLength(6881);
    expect(segments.filter((n) => n > 1)).toHaveLength(212);
    expect(Math.max(...segments)).toBe(23);
    for (const r of rows) expect(r.key).toBe(dirKey(decodeDir(r.value).location));
  });
});
