/**
 * Writes a {@link FlistTree} as a legacy `.flist` following docs/flist-format.md §5 to the letter:
 *
 * - gzip(tar) with the members `./` (directory, 0755) and `./flistdb.sqlite3` (0644);
 * - SQLite in rollback-journal mode (never WAL) with exactly the `entries` and `metadata` tables of
 *   zflist, keys bound as lower-case hex TEXT;
 * - one `Dir` per directory at `dirKey(location)` (root included, its `parent` is its own key, the
 *   others' the real parent key), `SubDir.key` = the child's dir key, `Dir.size` from the node;
 * - one `ACI` per distinct (user, group, mode, uid, gid) at zflist's current ACL key, uid/gid set
 *   explicitly; `File.blockSize` = 128; specials with their real type (socket 0, block 1,
 *   chardev 2, fifo 3, unknown 4), unlike zflist which writes every special as a socket;
 * - a `backend` metadata value, when present, must hold a string `host` and an integer `port`.
 *
 * Deterministic: entries are inserted in sorted key order, tar headers are fixed (uid/gid 0,
 * uname/gname root, mtime = the root's mtime) and gzip carries no name or time, so the same tree
 * gives the same bytes.
 *
 * API: `writeFlist(tree, out?) → Promise<{ bytes?, md5, sha256, size }>`.
 * - `out` undefined: the flist is returned in `bytes`;
 * - `out` a path: written to `<path>.tmp-<pid>-<n>` then renamed over `path`;
 * - `out` a Writable: streamed into it and the stream is ended.
 * The database is built in a temporary file (removed afterwards), so only the directory records
 * being encoded are in memory at a time.
 */
import Database from "better-sqlite3";
import { createWriteStream } from "node:fs";
import { mkdtemp, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { CollectBytes, packArchive } from "./archive.ts";
import { type AciRecord, type InodeRecord, encodeAci, encodeDir } from "./codec.ts";
import { FlistTreeError } from "./errors.ts";
import { aclKey, aclString, dirKey } from "./keys.ts";
import { parseBackend } from "./metadata.ts";
import type { DirNode, FlistNode, FlistTree, SpecialType } from "./model.ts";

export interface WriteResult {
  /** The `.flist` bytes, only when no `out` was given. */
  bytes?: Buffer;
  md5: string;
  sha256: string;
  size: number;
}

/** zflist's database schema (`sqlite3 .schema` of every reference flist). */
export const FLIST_SCHEMA = [
  "CREATE TABLE entries (key VARCHAR(64) PRIMARY KEY, value BLOB);",
  "CREATE TABLE metadata (key VARCHAR(64) PRIMARY KEY, value TEXT);",
];

export const BLOCK_SIZE_UNITS = 128;

const SPECIAL_CODES: Record<SpecialType, number> = { socket: 0, block: 1, chardev: 2, fifo: 3, unknown: 4 };
const U32_MAX = 0xffffffff;
const CHUNK_BYTES = 512 * 1024;
/** A UTF-16 half without its partner: TextEncoder would silently write U+FFFD instead. */
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextEncoder();

interface PlannedDir {
  node: DirNode;
  location: string;
  parentKey: string;
}

function fail(path: string, rule: string): never {
  throw new FlistTreeError(`"/${path}": ${rule}`);
}

function checkNode(node: FlistNode, path: string): void {
  if (!Number.isInteger(node.mode) || node.mode < 0 || node.mode > 0o7777) fail(path, `mode ${node.mode} is not permission bits (0..07777)`);
  for (const [what, id] of [["uid", node.owner.uid], ["gid", node.owner.gid]] as const) {
    if (!Number.isSafeInteger(id) || id < -1) fail(path, `${what} ${id} is not an integer ≥ -1`);
  }
  for (const [what, t] of [["mtime", node.mtime], ["ctime", node.ctime]] as const) {
    if (!Number.isInteger(t) || t < 0 || t > U32_MAX) fail(path, `${what} ${t} does not fit in u32 seconds`);
  }
  if (!Number.isSafeInteger(node.size) || node.size < 0) fail(path, `size ${node.size} is not a non-negative integer`);
  if (node.kind === "file") {
    // Readers find byte o in block floor(o / 512 KiB); no blocks at all means "not chunked" (zflist).
    const expected = Math.ceil(node.size / CHUNK_BYTES);
    if (node.blocks.length !== 0 && node.blocks.length !== expected) {
      fail(path, `${node.blocks.length} blocks for ${node.size} bytes (512 KiB chunks need ${expected})`);
    }
    for (const block of node.blocks) {
      if (block.hash.length !== 16 || block.key.length !== 16) fail(path, "every block hash and key must be 16 bytes");
    }
  }
  if (node.kind === "link" && LONE_SURROGATE.test(node.target)) fail(path, "link target is not valid Unicode (lone surrogate)");
  if (node.kind === "special" && !Object.hasOwn(SPECIAL_CODES, node.type)) fail(path, `unknown special type ${String(node.type)}`);
}

function checkName(name: string, path: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0") || LONE_SURROGATE.test(name)) {
    fail(path, `invalid entry name ${JSON.stringify(name)}`);
  }
}

interface Plan {
  dirs: Map<string, PlannedDir>;
  acls: Map<string, AciRecord>;
  aclOf: (node: FlistNode) => string;
}

/** Walks the tree once: validates it, records every directory and every distinct ACL. */
function plan(tree: FlistTree): Plan {
  const dirs = new Map<string, PlannedDir>();
  const acls = new Map<string, AciRecord>();
  // Few distinct ACLs in a tree: hash each ACL string once.
  const aclKeys = new Map<string, string>();
  const aclOf = (node: FlistNode): string => {
    const fields = { user: node.owner.user, group: node.owner.group, mode: node.mode, uid: node.owner.uid, gid: node.owner.gid };
    const text = aclString(fields);
    let key = aclKeys.get(text);
    if (key === undefined) {
      key = aclKey(fields);
      aclKeys.set(text, key);
    }
    return key;
  };
  const addAcl = (node: FlistNode): void => {
    const key = aclOf(node);
    if (!acls.has(key)) {
      acls.set(key, { uname: node.owner.user, gname: node.owner.group, mode: node.mode, uid: BigInt(node.owner.uid), gid: BigInt(node.owner.gid) });
    }
  };
  const visit = (node: DirNode, location: string, parentKey: string): void => {
    const key = dirKey(location);
    if (dirs.has(key)) fail(location, `directory key ${key} collides with another directory`);
    dirs.set(key, { node, location, parentKey });
    const names = new Set<string>();
    for (const child of node.children) {
      const path = location === "" ? child.name : `${location}/${child.name}`;
      checkName(child.name, path);
      if (names.has(child.name)) fail(path, "duplicate name in its directory");
      names.add(child.name);
      checkNode(child, path);
      addAcl(child);
      if (child.kind === "dir") visit(child, path, key);
    }
  };
  const backend = tree.metadata.get("backend");
  if (backend !== undefined) {
    const parsed = parseBackend(backend);
    if (typeof parsed === "string") throw new FlistTreeError(`${parsed} (docs/flist-format.md §5): ${backend}`);
  }
  checkNode(tree.root, "");
  addAcl(tree.root);
  const rootKey = dirKey("");
  visit(tree.root, "", rootKey);
  return { dirs, acls, aclOf };
}

function inodeOf(child: FlistNode, location: string, p: Plan): InodeRecord {
  const common = {
    name: child.name,
    size: BigInt(child.size),
    aclkey: p.aclOf(child),
    modificationTime: child.mtime,
    creationTime: child.ctime,
  };
  switch (child.kind) {
    case "dir":
      return { ...common, attributes: { kind: "dir", key: dirKey(location === "" ? child.name : `${location}/${child.name}`) } };
    case "file":
      return { ...common, attributes: { kind: "file", blockSize: BLOCK_SIZE_UNITS, blocks: child.blocks } };
    case "link":
      return { ...common, attributes: { kind: "link", target: child.target } };
    case "special":
      return { ...common, attributes: { kind: "special", type: SPECIAL_CODES[child.type], data: utf8.encode(child.data) } };
  }
}

function encodePlannedDir(d: PlannedDir, p: Plan): Uint8Array {
  return encodeDir({
    name: d.location === "" ? "" : d.node.name,
    location: d.location,
    contents: d.node.children.map((child) => inodeOf(child, d.location, p)),
    parent: d.parentKey,
    size: BigInt(d.node.size),
    aclkey: p.aclOf(d.node),
    modificationTime: d.node.mtime,
    creationTime: d.node.ctime,
  });
}

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Builds `flistdb.sqlite3` at `path`. */
function buildDatabase(path: string, tree: FlistTree): void {
  const p = plan(tree);
  const { dirs, acls } = p;
  const db = new Database(path);
  try {
    db.pragma("journal_mode = DELETE");
    for (const statement of FLIST_SCHEMA) db.exec(statement);
    const insertEntry = db.prepare("INSERT INTO entries (key, value) VALUES (?, ?)");
    const insertMeta = db.prepare("INSERT INTO metadata (key, value) VALUES (?, ?)");
    db.transaction(() => {
      // Both kinds of key in one sorted sequence; keys are always bound as JS strings (TEXT).
      const keys = [...dirs.keys(), ...acls.keys()].sort(byKey);
      for (const key of keys) {
        const dir = dirs.get(key);
        const value = dir ? encodePlannedDir(dir, p) : encodeAci(acls.get(key) as AciRecord);
        insertEntry.run(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
      for (const key of [...tree.metadata.keys()].sort(byKey)) insertMeta.run(key, tree.metadata.get(key) as string);
    })();
  } finally {
    db.close();
  }
}

let tempCounter = 0;

export async function writeFlist(tree: FlistTree, out?: string | Writable): Promise<WriteResult> {
  const work = await mkdtemp(join(tmpdir(), "zhub-flist-"));
  try {
    const dbPath = join(work, "flistdb.sqlite3");
    buildDatabase(dbPath, tree);
    const database = { path: dbPath, size: (await stat(dbPath)).size };
    if (out === undefined) {
      const sink = new CollectBytes();
      const digest = await packArchive(database, tree.root.mtime, sink);
      return { ...digest, bytes: sink.bytes() };
    }
    if (typeof out === "string") {
      const temp = `${out}.tmp-${process.pid}-${tempCounter++}`;
      try {
        const digest = await packArchive(database, tree.root.mtime, createWriteStream(temp));
        await rename(temp, out);
        return digest;
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    }
    return await packArchive(database, tree.root.mtime, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
