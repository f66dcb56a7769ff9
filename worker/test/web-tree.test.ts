/**
 * The contents tree route `GET /api/flist/<repo>/<name>/tree`: one directory level per request from the per-flist
 * index built on first use and stored in R2, paging, the path filter, and errors. The reference `main.flist` is
 * published twice: with the entry types a publisher sends now (taken from the real zflist's `stat` of it: its
 * symlinks show their targets, its empty directories are directories) and without them, as flists published
 * before types were recorded (the tree derives them from the paths, `typed: false`).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { indexKey, linesKey } from "../src/web/tree/index";
import { fetchHub, fixtureBytes, fixtureEntryTypes, internalAuth, json, migrate, publish, publishForm } from "./support/hub";

const tree = (query: string) => json(`/api/flist/treerepo/app.flist/tree${query}`);

beforeAll(async () => {
  await migrate();
  // Types belong to the bytes (one blob, one listing): the untyped copy is another .flist of the same tree.
  await publish("treerepo", "app", "main", { bytes: fixtureBytes("meta") });
  expect((await publish("treerepo", "typed", "main", { entries: true })).status).toBe(200);
  // A synthetic flist with one very wide directory, for paging.
  const wide = {
    content: [{ path: "/many", size: 4096 }, ...Array.from({ length: 450 }, (_, i) => ({ path: `/many/f${String(i).padStart(3, "0")}`, size: i }))],
    regular: 450,
    symlink: 0,
    directory: 1,
    special: 0,
    failure: 0,
    fullsize: 0,
  };
  const f = env.TEST_FIXTURES.overlay!;
  const form = new FormData();
  form.append("flist", new File([Uint8Array.from(atob(f.flist), (c) => c.charCodeAt(0))], "x.flist"));
  form.append("info", JSON.stringify({ contents: wide, metadata: {} }));
  const res = await fetchHub("/internal/publish/treerepo/wide", { method: "PUT", headers: internalAuth, body: form });
  expect(res.status).toBe(200);
});

/** A listing of `files` files spread over `dirs` directories, like a large image. */
function bigListing(dirs: number, files: number) {
  const content: { path: string; size: number }[] = [];
  for (let d = 0; d < dirs; d++) {
    content.push({ path: `/usr/lib/pkg${d}`, size: 4096 });
    for (let f = 0; f < files / dirs; f++) content.push({ path: `/usr/lib/pkg${d}/file-${f}.so`, size: 1000 + f });
  }
  content.unshift({ path: "/usr", size: 4096 }, { path: "/usr/lib", size: 4096 });
  return { content, regular: files, symlink: 0, directory: dirs + 2, special: 0, failure: 0, fullsize: 0 };
}

describe("tree route", () => {
  it("answers the root level: directories first, each with its child count, files with their size", async () => {
    const { status, body, res } = await tree("");
    expect(status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(body.path).toBe("/");
    expect(body.typed).toBe(false);
    const names = body.entries.map((e: any) => e.name);
    expect(names).toContain("data");
    expect(names).toContain("deep");
    const data = body.entries.find((e: any) => e.name === "data");
    expect(data).toEqual({ name: "data", path: "/data", type: "directory", size: 4096, children: 6 });
    const firstFile = body.entries.findIndex((e: any) => e.type === "file");
    if (firstFile >= 0) expect(body.entries.slice(firstFile).every((e: any) => e.type === "file")).toBe(true);
    expect(body.total).toBe(body.entries.length);
  });

  it("answers a nested level, whatever the slashes", async () => {
    const { body } = await tree("?path=/data/");
    expect(body.path).toBe("/data");
    expect(body.entries.map((e: any) => e.name)).toEqual([
      "chunk-exact-524288.bin",
      "chunk-plus-one-524289.bin",
      "compressible-3000000.txt",
      "empty.txt",
      "one-byte.bin",
      "random-2200000.bin",
    ]);
    expect(body.entries.find((e: any) => e.name === "one-byte.bin")).toEqual({
      name: "one-byte.bin",
      path: "/data/one-byte.bin",
      type: "file",
      size: 1,
    });
    const deep = await tree("?path=deep//l1/l2/l3/l4/l5/l6");
    expect(deep.body.entries).toEqual([{ name: "leaf.txt", path: "/deep/l1/l2/l3/l4/l5/l6/leaf.txt", type: "file", size: 21 }]);
  });

  it("stores the per-directory index in R2 next to the listing, so later requests read one byte range", async () => {
    await tree("");
    const history = (await json("/api/flist/treerepo/app/history")).body;
    const key = history.current.sha256 as string;
    // Written through waitUntil: give it a moment.
    // "app" carries no types: its tree has the untyped keys.
    for (let i = 0; i < 50 && !(await env.FLISTS.head(indexKey(key, false))); i++) await new Promise((r) => setTimeout(r, 20));
    const index = (await (await env.FLISTS.get(indexKey(key, false)))!.json()) as { dirs: Record<string, [number, number, number]> };
    expect(index.dirs["/data"]![2]).toBe(6);
    const [offset, length] = index.dirs["/data"]!;
    const line = await (await env.FLISTS.get(linesKey(key, false), { range: { offset, length } }))!.text();
    expect(JSON.parse(line)[0]).toEqual(["chunk-exact-524288.bin", 524288, -1, "f"]);
  });

  it("pages a wide directory with offset and limit", async () => {
    const first = await json("/api/flist/treerepo/wide/tree?path=/many&limit=200");
    expect(first.body.total).toBe(450);
    expect(first.body.entries).toHaveLength(200);
    expect(first.body.entries[0].name).toBe("f000");
    const last = await json("/api/flist/treerepo/wide/tree?path=/many&offset=400&limit=200");
    expect(last.body.entries.map((e: any) => e.name)).toEqual(Array.from({ length: 50 }, (_, i) => `f${400 + i}`));
  });

  it("filters paths across the whole flist with q", async () => {
    const { body } = await tree("?q=LEAF");
    expect(body).toEqual({
      q: "LEAF",
      typed: false,
      matches: [
        { path: "/deep/l1/l2/l3/l4/l5/l6/leaf.txt", size: 21 },
        { path: "/links/rel-to-leaf", size: 34 },
      ],
      truncated: false,
    });
    const capped = await json("/api/flist/treerepo/wide/tree?q=/many/f&limit=10");
    expect(capped.body.matches).toHaveLength(10);
    expect(capped.body.truncated).toBe(true);
  });

  it("without stored types (a flist published before them): empty directories and symlinks show as files", async () => {
    const root = (await tree("")).body;
    expect(root.entries.find((e: any) => e.name === "empty-dir")).toEqual({ name: "empty-dir", path: "/empty-dir", type: "file", size: 4096 });
    const links = (await tree("?path=/links")).body;
    expect(links.entries.find((e: any) => e.name === "dangling")).toEqual({ name: "dangling", path: "/links/dangling", type: "file", size: 21 });
  });

  it("refuses unknown directories, flists and bad parameters with JSON errors", async () => {
    expect((await tree("?path=/nope")).status).toBe(404);
    expect((await tree("?path=/nope")).body).toEqual({ status: "error", message: "no such directory" });
    expect((await json("/api/flist/treerepo/missing/tree")).status).toBe(404);
    expect((await json("/api/flist/nobody/app/tree")).status).toBe(404);
    expect((await tree("?limit=0")).status).toBe(400);
    expect((await tree("?offset=-1")).status).toBe(400);
  });

  it("stays fast on a 30,000-file flist: one level per request, from the stored index", async () => {
    const f = env.TEST_FIXTURES.merged!;
    const form = new FormData();
    form.append("flist", new File([Uint8Array.from(atob(f.flist), (c) => c.charCodeAt(0))], "x.flist"));
    form.append("info", JSON.stringify({ contents: bigListing(300, 30_000), metadata: {} }));
    const res = await fetchHub("/internal/publish/treerepo/big", { method: "PUT", headers: internalAuth, body: form });
    expect(res.status).toBe(200);

    const first = await json("/api/flist/treerepo/big/tree?path=/usr/lib");
    expect(first.body.total).toBe(300);
    expect(first.body.entries).toHaveLength(200);
    expect(first.body.entries[0]).toEqual({ name: "pkg0", path: "/usr/lib/pkg0", type: "directory", size: 4096, children: 100 });
    const started = Date.now();
    for (let d = 0; d < 20; d++) {
      const level = await json(`/api/flist/treerepo/big/tree?path=/usr/lib/pkg${d * 7}&limit=5`);
      expect(level.body.total).toBe(100);
      expect(level.body.entries[0].name).toBe("file-0.so");
    }
    // 20 levels of a 30,000-entry flist: no re-parse of the whole listing per request.
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("tree route with the publisher's entry types (main.flist: symlinks, an empty directory, specials)", () => {
  const typed = (query: string) => json(`/api/flist/treerepo/typed.flist/tree${query}`);

  it("shows empty directories as directories, with no children", async () => {
    const root = (await typed("")).body;
    expect(root.typed).toBe(true);
    expect(root.entries.find((e: any) => e.name === "empty-dir")).toEqual({
      name: "empty-dir",
      path: "/empty-dir",
      type: "directory",
      size: 4096,
      children: 0,
    });
    // Directories first, empty ones included.
    const firstOther = root.entries.findIndex((e: any) => e.type !== "directory");
    expect(root.entries.slice(0, firstOther).map((e: any) => e.name)).toContain("empty-dir");
    expect((await typed("?path=/empty-dir")).body).toMatchObject({ path: "/empty-dir", total: 0, entries: [] });
  });

  it("shows symlinks with their target (a link to a directory stays a link) and specials as specials", async () => {
    const links = (await typed("?path=/links")).body;
    expect(links.entries).toEqual([
      { name: "abs-to-passwd", path: "/links/abs-to-passwd", type: "symlink", size: 11, target: "/etc/passwd" },
      { name: "dangling", path: "/links/dangling", type: "symlink", size: 21, target: "../does/not/exist.txt" },
      { name: "dir-link", path: "/links/dir-link", type: "symlink", size: 7, target: "../data" },
      { name: "long-target", path: "/links/long-target", type: "symlink", size: 300, target: `../${"x".repeat(290)}/target` },
      { name: "nobody-link", path: "/links/nobody-link", type: "symlink", size: 12, target: "../hello.txt" },
      { name: "rel-to-leaf", path: "/links/rel-to-leaf", type: "symlink", size: 34, target: "../deep/l1/l2/l3/l4/l5/l6/leaf.txt" },
    ]);
    const dev = (await typed("?path=/dev")).body;
    expect(dev.entries.map((e: any) => e.type)).toEqual(["special", "special", "special", "special"]);
    expect((await typed("?path=/data")).body.entries.every((e: any) => e.type === "file")).toBe(true);
  });

  it("types the filter's matches too", async () => {
    const { body } = await typed("?q=LEAF");
    expect(body).toEqual({
      q: "LEAF",
      typed: true,
      matches: [
        { path: "/deep/l1/l2/l3/l4/l5/l6/leaf.txt", size: 21, type: "file" },
        { path: "/links/rel-to-leaf", size: 34, type: "symlink", target: "../deep/l1/l2/l3/l4/l5/l6/leaf.txt" },
      ],
      truncated: false,
    });
  });

  it("keeps the contents listing in the zflist shape clients parse: the types are stored beside it", async () => {
    const contents = (await json("/api/flist/treerepo/typed.flist")).body;
    expect(contents).toEqual(env.TEST_FIXTURES.main!.find);
    const sha256 = (await json("/api/flist/treerepo/typed/history")).body.current.sha256 as string;
    expect(await (await env.FLISTS.get(`blobs/${sha256}.entries.json`))!.json()).toEqual(fixtureEntryTypes("main"));
  });

  it("an untyped flist republished with its types shows them at once", async () => {
    const before = await json("/api/flist/treerepo/later/tree?path=/links");
    expect(before.status).toBe(404); // not published yet
    expect((await publish("treerepo", "later", "main", { bytes: fixtureBytes("edited") })).status).toBe(200);
    const untyped = (await json("/api/flist/treerepo/later/tree")).body;
    expect(untyped.typed).toBe(false);
    expect((await publish("treerepo", "later", "main", { bytes: fixtureBytes("edited"), entries: true })).status).toBe(200);
    const root = (await json("/api/flist/treerepo/later/tree")).body;
    expect(root.typed).toBe(true);
    expect(root.entries.find((e: any) => e.name === "empty-dir")).toMatchObject({ type: "directory", children: 0 });
    const links = (await json("/api/flist/treerepo/later/tree?path=/links")).body;
    expect(links.entries[0]).toMatchObject({ type: "symlink", target: "/etc/passwd" });
  });

  it("refuses types that do not match the listing", async () => {
    const f = env.TEST_FIXTURES.main!;
    const entries = fixtureEntryTypes("main");
    for (const [bad, message] of [
      [{ ...entries, types: entries.types.slice(1) }, "invalid info: entries.types: one type per contents entry"],
      [{ ...entries, targets: entries.targets.slice(1) }, "invalid info: entries.targets: one target per symlink"],
      [{ ...entries, types: entries.types.replace("f", "x") }, "invalid info: entries.types: one of d, f, l, s per entry"],
    ] as const) {
      const res = await fetchHub("/internal/publish/treerepo/bad-types", {
        method: "PUT",
        headers: internalAuth,
        body: publishForm(fixtureBytes("main"), { contents: f.find, metadata: {}, entries: bad }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe(message);
    }
  });
});
