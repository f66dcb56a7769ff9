/**
 * Directory ingestion: the fixture tree extracted by GNU tar gives the same flist tree as ingesting the tarball
 * itself (owners and device nodes need root to be extracted faithfully: without it, only those are not compared).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirNode, FlistNode } from "../src/flist/model.ts";
import { IngestError, ingestArchive, ingestDirectory, ingestPath } from "../src/ingest/index.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";
import { FIXTURES } from "./support/flist-fixtures.ts";

const isRoot = process.getuid?.() === 0;

function walk(dir: DirNode, prefix = ""): Array<{ path: string; node: FlistNode }> {
  return dir.children.flatMap((node) => {
    const p = `${prefix}/${node.name}`;
    return node.kind === "dir" ? [{ path: p, node }, ...walk(node, p)] : [{ path: p, node }];
  });
}

/** What both sources must agree on; owners/devices only when the extraction could restore them. */
function comparable({ path: p, node }: { path: string; node: FlistNode }): unknown {
  const base: Record<string, unknown> = { path: p, kind: node.kind, mode: node.mode, mtime: node.mtime };
  if (node.kind !== "dir") base.size = node.size;
  if (isRoot) base.owner = node.owner;
  if (node.kind === "link") base.target = node.target;
  if (node.kind === "special") Object.assign(base, { type: node.type, data: node.data });
  if (node.kind === "file") base.blocks = node.blocks.map((b) => Buffer.from(b.hash).toString("hex"));
  return base;
}

let work: string;
let store: ChunkStore;

beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-ingest-dir-"));
  store = await openStore(`file://${work}/store`);
});

afterAll(async () => {
  await store?.close();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

describe("ingestDirectory", () => {
  it("gives the same tree as the tarball it was extracted from", async () => {
    const tree = path.join(work, "tree-main");
    fs.mkdirSync(tree);
    const archive = path.join(FIXTURES, "tree-main.tar.gz");
    // Non-root tar cannot create devices or chown: it reports that and goes on (exit 2), which is expected then.
    try {
      execFileSync("tar", ["--numeric-owner", "-xpzf", archive, "-C", tree], { stdio: "pipe" });
    } catch (err) {
      if (isRoot) throw err;
    }
    const fromDir = await ingestPath(tree, { store });
    const fromTar = await ingestArchive(archive, { store });
    const dirNodes = walk(fromDir.tree.root).filter((w) => isRoot || w.node.kind !== "special");
    const tarNodes = walk(fromTar.tree.root).filter((w) => isRoot || w.node.kind !== "special");
    expect(dirNodes.map(comparable)).toEqual(tarNodes.map(comparable));
    // Directory sizes are st_size, as zflist records them.
    const setgid = dirNodes.find((w) => w.path === "/setgid-shared")?.node;
    expect(setgid?.size).toBe(fs.lstatSync(path.join(tree, "setgid-shared")).size);
    expect(fromDir.tree.root.mode).toBe(0o755);
    expect(fromDir.stats.fileBytes).toBe(6_249_124);
    // The second name of the hardlink pair was not read again: it shares the first name's blocks.
    expect((fromDir.stats.pipeline as { chunks: number }).chunks).toBe(44);
  });

  it("applies the same rules: names must be UTF-8, entry count is capped", async () => {
    const dir = path.join(work, "bad-names");
    fs.mkdirSync(dir);
    fs.writeFileSync(Buffer.from(`${dir}/caf\xe9`, "latin1"), "x");
    const err = await ingestDirectory(dir, { store }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).rule).toBe("non-utf8-name");

    const many = path.join(work, "many");
    fs.mkdirSync(many);
    for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(many, `f${i}`), "");
    const capped = await ingestDirectory(many, { store, caps: { maxEntries: 10 } }).catch((e: unknown) => e);
    expect((capped as IngestError).rule).toBe("entry-count-cap");
    const fine = await ingestDirectory(many, { store, caps: { maxEntries: 12 } });
    expect(fine.stats.regular).toBe(12);

    // The tree-shape limits apply to a walked directory as to an archive.
    const deep = path.join(work, "deep");
    fs.mkdirSync(path.join(deep, "a", "b", "c", "d"), { recursive: true });
    fs.writeFileSync(path.join(deep, "a", "b", "c", "d", "long-name.txt"), "x");
    const tooDeep = await ingestDirectory(deep, { store, caps: { maxDepth: 4 } }).catch((e: unknown) => e);
    expect(tooDeep).toMatchObject({ rule: "too-deep", entry: "a/b/c/d/long-name.txt" });
    const tooLong = await ingestDirectory(deep, { store, caps: { maxNameBytes: 12 } }).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ rule: "name-too-long", entry: "a/b/c/d/long-name.txt" });
    const tooWide = await ingestDirectory(deep, { store, caps: { maxPathBytes: 20 } }).catch((e: unknown) => e);
    expect(tooWide).toMatchObject({ rule: "path-too-long", entry: "a/b/c/d/long-name.txt" });
    expect((await ingestDirectory(deep, { store, caps: { maxDepth: 5, maxNameBytes: 13, maxPathBytes: 21 } })).stats.regular).toBe(1);
  });

  it("keeps sockets as specials of type socket", async () => {
    const dir = path.join(work, "sock");
    fs.mkdirSync(dir);
    const net = await import("node:net");
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "s.sock"), resolve));
    try {
      const { tree } = await ingestDirectory(dir, { store });
      expect(tree.root.children[0]).toMatchObject({ kind: "special", type: "socket", data: "(nothing)", name: "s.sock" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
