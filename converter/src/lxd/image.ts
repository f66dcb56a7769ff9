/**
 * A flist as an LXD/Incus container image: the flist's tree
 * read back from the chunk store into `rootfs.squashfs` (Debian squashfs-tools), with a generated `metadata.yaml`
 * in `lxd.tar.xz` (architecture, creation date, description; no templates).
 *
 * The squashfs is described entirely by a mksquashfs pseudo file (`-pf`) over an empty source directory: `D`
 * directories, `F` files (their bytes, read back and verified by readBlocks, are written once to a flat temporary
 * directory and fed by `cat`), `S` symlinks, `B`/`C` devices, `I` fifos and sockets, each with the flist's own
 * mode, uid/gid and mtime. So owners, setuid bits and device nodes come out exact without running as root, and the
 * root directory's attributes are set with -root-mode/-root-uid/-root-gid/-root-time. (Pseudo "modify" entries
 * over a real tree cannot be used: squashfs-tools 4.5 ignores one of a directory and its children.)
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { readBlocks } from "../chunks/read.ts";
import type { DirNode, FlistNode, FlistTree } from "../flist/model.ts";
import type { ChunkStore } from "../store/index.ts";

const run = promisify(execFile);

export interface LxdImageOptions {
  /** LXD architecture name of metadata.yaml (default x86_64: flists carry no architecture). */
  architecture?: string;
  /** Unix seconds: metadata.yaml's creation_date and the squashfs creation time. */
  creationDate: number;
  description: string;
  os?: string;
  release?: string;
  signal?: AbortSignal;
  /** Called after each regular file is written out (files done, total files). */
  onProgress?: (done: number, total: number) => void;
}

export interface LxdImage {
  rootfs: string;
  metadata: string;
}

export class LxdImageError extends Error {
  override name = "LxdImageError";
}

/** A pseudo-file path: squashfs-tools reads unquoted names with backslash escapes. */
function pseudoPath(parts: string[]): string {
  const p = `/${parts.join("/")}`;
  if (/[\n\r]/.test(p)) throw new LxdImageError(`a name with a line break cannot be written to a squashfs: ${JSON.stringify(p)}`);
  return p.replace(/([\\\s"'])/g, "\\$1");
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

function countFiles(dir: DirNode): number {
  return dir.children.reduce((n, c) => n + (c.kind === "file" ? 1 : c.kind === "dir" ? countFiles(c) : 0), 0);
}

/** The description for metadata.yaml: the first line of the flist's readme, else `fallback`. */
export function describeFlist(tree: FlistTree, fallback: string): string {
  const raw = tree.metadata.get("readme");
  if (raw) {
    try {
      const value = JSON.parse(raw) as { readme?: unknown };
      const line = typeof value.readme === "string" ? value.readme.split("\n").map((l) => l.replace(/^#+\s*/, "").trim()).find(Boolean) : undefined;
      if (line) return line.slice(0, 200);
    } catch {
      // Not JSON: fall back.
    }
  }
  return fallback;
}

export function metadataYaml(options: LxdImageOptions): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
  const properties = [`  description: ${q(options.description)}`];
  if (options.os) properties.push(`  os: ${q(options.os)}`);
  if (options.release) properties.push(`  release: ${q(options.release)}`);
  return [
    `architecture: ${q(options.architecture ?? "x86_64")}`,
    `creation_date: ${options.creationDate}`,
    "properties:",
    ...properties,
    "templates: {}",
    "",
  ].join("\n");
}

/** Builds `rootfs.squashfs` and `lxd.tar.xz` of `tree` in `workDir` (which must exist and be empty). */
export async function buildLxdImage(tree: FlistTree, store: ChunkStore, workDir: string, options: LxdImageOptions): Promise<LxdImage> {
  const files = path.join(workDir, "files");
  const empty = path.join(workDir, "empty");
  await fs.promises.mkdir(files);
  await fs.promises.mkdir(empty);
  const lines: string[] = [];
  const total = countFiles(tree.root);
  let done = 0;

  const walk = async (dir: DirNode, parents: string[]): Promise<void> => {
    for (const node of dir.children as FlistNode[]) {
      options.signal?.throwIfAborted();
      const parts = [...parents, node.name];
      const head = `${pseudoPath(parts)}`;
      const attrs = (mode: number) => `${node.mtime} ${octal(mode)} ${node.owner.uid} ${node.owner.gid}`;
      if (node.kind === "dir") {
        lines.push(`${head} D ${attrs(node.mode)}`);
        await walk(node, parts);
      } else if (node.kind === "file") {
        const out = path.join(files, String(done));
        await pipeline(Readable.from(readBlocks(store, node.blocks)), fs.createWriteStream(out), { signal: options.signal });
        lines.push(`${head} F ${attrs(node.mode)} cat ${out}`);
        options.onProgress?.(++done, total);
      } else if (node.kind === "link") {
        if (/[\n\r]/.test(node.target)) throw new LxdImageError(`a link target with a line break: ${head}`);
        lines.push(`${head} S ${attrs(0o777)} ${node.target}`);
      } else if (node.type === "block" || node.type === "chardev") {
        const [major, minor] = node.data.split(",").map((n) => Number(n.trim()));
        if (!Number.isInteger(major) || !Number.isInteger(minor)) throw new LxdImageError(`device ${head}: bad numbers ${node.data}`);
        lines.push(`${head} ${node.type === "block" ? "B" : "C"} ${attrs(node.mode)} ${major} ${minor}`);
      } else if (node.type === "fifo" || node.type === "socket") {
        lines.push(`${head} I ${attrs(node.mode)} ${node.type === "fifo" ? "f" : "s"}`);
      }
      // "unknown" specials have no squashfs form: left out.
    }
  };
  await walk(tree.root, []);

  const pseudo = path.join(workDir, "pseudo");
  await fs.promises.writeFile(pseudo, lines.length > 0 ? `${lines.join("\n")}\n` : "");
  const rootfs = path.join(workDir, "rootfs.squashfs");
  const root = tree.root;
  // prettier-ignore
  await run("mksquashfs", [
    empty, rootfs, "-noappend", "-quiet", "-no-progress", "-no-xattrs",
    ...(lines.length > 0 ? ["-pf", pseudo] : []),
    "-root-mode", octal(root.mode), "-root-uid", String(root.owner.uid), "-root-gid", String(root.owner.gid),
    "-root-time", String(root.mtime), "-mkfs-time", String(options.creationDate),
  ], { signal: options.signal, maxBuffer: 16 << 20 });
  await fs.promises.rm(files, { recursive: true, force: true });

  const metaDir = path.join(workDir, "meta");
  await fs.promises.mkdir(metaDir);
  await fs.promises.writeFile(path.join(metaDir, "metadata.yaml"), metadataYaml(options));
  const metadata = path.join(workDir, "lxd.tar.xz");
  // Reproducible: fixed owner, order and time.
  await run("tar", [
    "-cJf", metadata, "-C", metaDir, "--owner=0", "--group=0", "--numeric-owner", "--sort=name",
    `--mtime=@${options.creationDate}`, "metadata.yaml",
  ], { signal: options.signal });
  return { rootfs, metadata };
}
