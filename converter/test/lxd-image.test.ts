/**
 * A flist as an LXD image (converter/src/lxd): a directory tree is ingested into a flist (chunks in a file store),
 * the image is built from the flist and the chunks, and `unsquashfs` of its rootfs.squashfs gives back the flist's
 * exact tree: names, kinds, modes (setuid included), owners, mtimes, link targets and file bytes (multi-block
 * files included); lxd.tar.xz holds the generated metadata.yaml.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IS_ROOT, describeDisk } from "./support/disk.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirNode, FlistNode, FlistTree } from "../src/flist/model.ts";
import { readmeMetadata } from "../src/flist/metadata.ts";
import { ingestDirectory } from "../src/ingest/index.ts";
import { buildLxdImage, describeFlist } from "../src/lxd/image.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";

let work: string;
let store: ChunkStore;
let tree: FlistTree;
const isRoot = IS_ROOT;

function walk(dir: DirNode, prefix = ""): Array<{ path: string; node: FlistNode }> {
  return dir.children.flatMap((node) => {
    const p = `${prefix}/${node.name}`;
    return node.kind === "dir" ? [{ path: p, node }, ...walk(node, p)] : [{ path: p, node }];
  });
}


beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-lxd-image-"));
  store = await openStore(`file://${work}/store`);
  const src = path.join(work, "src");
  fs.mkdirSync(path.join(src, "etc/conf.d"), { recursive: true });
  fs.mkdirSync(path.join(src, "usr/bin"), { recursive: true });
  fs.mkdirSync(path.join(src, "with space"));
  fs.writeFileSync(path.join(src, "etc/hostname"), "flist-image\n");
  fs.writeFileSync(path.join(src, "etc/conf.d/empty"), "");
  const big = Buffer.alloc(1_300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  fs.writeFileSync(path.join(src, "usr/bin/big"), big);
  fs.chmodSync(path.join(src, "usr/bin/big"), 0o4755);
  fs.writeFileSync(path.join(src, "with space/a \"quoted\" name"), "q");
  fs.symlinkSync("../etc/hostname", path.join(src, "usr/hostname-link"));
  fs.symlinkSync("/absolute/target with space", path.join(src, "dangling"));
  fs.chmodSync(path.join(src, "etc/conf.d"), 0o750);
  if (isRoot) fs.chownSync(path.join(src, "etc/hostname"), 1234, 5678);
  for (const [p, t] of [["etc/hostname", 1_600_000_000], ["etc/conf.d", 1_600_000_100], ["usr/bin/big", 1_600_000_200]] as const) {
    fs.utimesSync(path.join(src, p), t, t);
  }
  tree = (await ingestDirectory(src, { store })).tree;
});

afterAll(async () => {
  await store?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("buildLxdImage", () => {
  it("unsquashfs of rootfs.squashfs gives the flist's exact tree", async () => {
    const out = path.join(work, "image");
    fs.mkdirSync(out);
    const progress: number[] = [];
    const image = await buildLxdImage(tree, store, out, {
      creationDate: 1_700_000_000,
      description: "test flist",
      onProgress: (done) => progress.push(done),
    });
    expect(progress).toEqual([1, 2, 3, 4]);
    const unpacked = path.join(work, "unpacked");
    execFileSync("unsquashfs", ["-no-progress", "-d", unpacked, image.rootfs], { stdio: "pipe" });
    const expected = walk(tree.root)
      .map(({ path: p, node }) => {
        const owner = isRoot ? ` ${node.owner.uid}:${node.owner.gid}` : "";
        const common = `${p} ${(node.mode & 0o7777).toString(8)}${owner} ${node.mtime}`;
        if (node.kind === "dir") return `${common} dir`;
        if (node.kind === "link") return `${p} link ${node.target}`;
        const source = path.join(work, "src", p);
        return `${common} file ${node.size} ${createHash("sha256").update(fs.readFileSync(source)).digest("hex")}`;
      })
      .sort();
    expect(describeDisk(unpacked).sort()).toEqual(expected);
    expect(describeDisk(unpacked)).toContain(`/usr/bin/big 4755${isRoot ? " 0:0" : ""} 1600000200 file 1300000 ${createHash("sha256").update(fs.readFileSync(path.join(work, "src/usr/bin/big"))).digest("hex")}`);
    // The root directory keeps the flist root's mode.
    expect((fs.statSync(unpacked).mode & 0o7777).toString(8)).toBe((tree.root.mode & 0o7777).toString(8));
    // The temporary copies of the files are gone; the metadata tarball is reproducible (the squashfs is not
    // byte-for-byte: mksquashfs's output varies between runs).
    expect(fs.existsSync(path.join(out, "files"))).toBe(false);
    const again = path.join(work, "again");
    fs.mkdirSync(again);
    const second = await buildLxdImage(tree, store, again, { creationDate: 1_700_000_000, description: "test flist" });
    const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    expect(sha(second.metadata)).toBe(sha(image.metadata));
  });

  it("lxd.tar.xz holds metadata.yaml with architecture, creation date, description and no templates", async () => {
    const out = path.join(work, "meta-image");
    fs.mkdirSync(out);
    const image = await buildLxdImage(tree, store, out, { creationDate: 1_700_000_123, description: 'say "hi"', os: "repo", release: "name" });
    const yaml = execFileSync("tar", ["-xJOf", image.metadata, "metadata.yaml"], { encoding: "utf8" });
    expect(yaml).toBe(
      'architecture: "x86_64"\ncreation_date: 1700000123\nproperties:\n  description: "say \\"hi\\""\n  os: "repo"\n  release: "name"\ntemplates: {}\n',
    );
  });

  it("describes a flist by the first line of its readme", () => {
    const metadata = new Map([["readme", readmeMetadata({ readme: "\n# My App\n\nmore" })]]);
    expect(describeFlist({ root: tree.root, metadata }, "fallback")).toBe("My App");
    expect(describeFlist({ root: tree.root, metadata: new Map() }, "fallback")).toBe("fallback");
  });
});
