/** Helpers of the end-to-end tests: fixture paths, tarball contents, reading a flist's files back, SSE. */
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import tar from "tar-stream";
import { readBlocks } from "../../converter/src/chunks/read.ts";
import type { DirNode, FileNode, FlistTree } from "../../converter/src/flist/index.ts";
import type { ChunkStore } from "../../converter/src/store/index.ts";

export const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/flists");

/** The fixture tarballs, the flist name the hub gives each, and the reference flist zflist made from it. */
export const TARBALL_CASES = [
  { tarball: "tree-main.tar.gz", flist: "tree-main.flist", reference: "main" },
  { tarball: "tree-overlay.tar.gz", flist: "tree-overlay.flist", reference: "overlay" },
  { tarball: "tree-overlay.numeric.tar.gz", flist: "tree-overlay.numeric.flist", reference: "overlay" },
] as const;

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** The `response` of a reference flist's expected view, e.g. `expected("merged", "find.json")`. */
export function expected(flist: string, file: string): unknown {
  return (JSON.parse(fs.readFileSync(path.join(FIXTURES, `${flist}.flist.expected`, file), "utf8")) as { response: unknown }).response;
}

/**
 * The bytes of every regular file of a .tar/.tar.gz, by path without the leading `./`; hardlinks get their
 * target's bytes (a flist stores them as regular files with the same blocks).
 */
export async function tarballFiles(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const hardlinks: [string, string][] = [];
  const extract = tar.extract();
  const source = fs.createReadStream(file);
  (file.endsWith(".gz") ? source.pipe(createGunzip()) : source).pipe(extract);
  const clean = (name: string) => name.replace(/^\.\//, "").replace(/\/$/, "");
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const chunk of entry) parts.push(chunk as Buffer);
    if (entry.header.type === "file" || entry.header.type === "contiguous-file") files.set(clean(entry.header.name), Buffer.concat(parts));
    else if (entry.header.type === "link") hardlinks.push([clean(entry.header.name), clean(entry.header.linkname ?? "")]);
  }
  for (const [name, target] of hardlinks) {
    const bytes = files.get(target);
    if (bytes) files.set(name, bytes);
  }
  return files;
}

/** Every regular file of a flist tree: path (no leading `/`) → node. */
export function flistFiles(tree: FlistTree): Map<string, FileNode> {
  const out = new Map<string, FileNode>();
  const walk = (dir: DirNode, prefix: string) => {
    for (const child of dir.children) {
      const p = prefix ? `${prefix}/${child.name}` : child.name;
      if (child.kind === "dir") walk(child, p);
      else if (child.kind === "file") out.set(p, child);
    }
  };
  walk(tree.root, "");
  return out;
}

/** A file's bytes read back through the chunk store (every chunk fetched, decrypted and checked). */
export async function readBack(store: ChunkStore, node: FileNode): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const piece of readBlocks(store, node.blocks)) parts.push(piece);
  return Buffer.concat(parts);
}

/** The events of an SSE stream (`data: <json>` blocks) until the server ends it. */
export async function sseEvents(url: string, timeoutMs = 120_000): Promise<unknown[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text
    .split(/\n\n/)
    .map((block) => block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
    .filter((data) => data !== "")
    .map((data) => JSON.parse(data) as unknown);
}

/** A plain .tar of regular files (mode 0644, a fixed mtime). */
export async function writeTar(file: string, members: { name: string; body: Buffer }[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, fs.createWriteStream(file));
  for (const m of members) pack.entry({ name: m.name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, m.body);
  pack.finalize();
  await done;
}

/** `from` gzip'd into `to` (fast level: the tests' archives are mostly random bytes). */
export async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(fs.createReadStream(from), createGzip({ level: 1 }), fs.createWriteStream(to));
}
