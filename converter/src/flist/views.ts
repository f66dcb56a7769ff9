/**
 * The read views exactly as `ZFLIST_JSON=1 zflist <action>` prints their `response` (zflist 2.3.0,
 * `zflist/actions.c`, `tools.c`, `actions_metadata.c`), computed from a {@link FlistTree}:
 *
 * - `findView` (`zflist find`): every entry depth-first in contents order as `{size, path}`, then
 *   the counters; `fullsize` sums regular files only, `directory` excludes the root. This is also
 *   the hub's contents listing (`contentsListing`).
 * - `lsView` (`zflist ls <dir>`): the directory's entries with type names and owners.
 * - `statView` (`zflist stat <path>`): one entry; the root cannot be stat'ed, as in zflist.
 * - `metadataListView` / `metadataGetView` (`zflist metadata [key]`), and `metadataObject`
 *   (key → parsed value) for publishing.
 *
 * Failures throw {@link FlistViewError} carrying zflist's `function` and `message`;
 * `zflistJson` wraps a view into zflist's `{success, error, response}` envelope.
 */
import type { ContentsListing, EntryTypes, FileCounts } from "../../../protocol/publish.ts";
import { cleanLocation, toHex } from "./keys.ts";
import type { DirNode, FlistNode, FlistTree, SpecialType } from "./model.ts";

export class FlistViewError extends Error {
  override name = "FlistViewError";
  constructor(
    readonly fn: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FindEntry {
  size: number;
  path: string;
}

/** The entries, then the file counters the hub keeps of every flist (protocol/publish.ts). */
export interface FindResponse extends FileCounts {
  content: FindEntry[];
}

export interface LsEntry {
  name: string;
  type: string;
  size: number;
  user: string;
  uid: number;
  group: string;
  gid: number;
}

export interface StatChunk {
  key: string;
  decipher: string;
}

export interface StatResponse {
  file: string;
  size: number;
  mode: number;
  user: string;
  uid: number;
  group: string;
  gid: number;
  created: number;
  modified: number;
  linkto?: string;
  device?: string;
  chunks: StatChunk[];
}

export interface StatOptions {
  /**
   * zflist prints `device: ""` for every special (its reader decodes `Special.data` wrongly,
   * docs/flist-format.md §2.3). `"zflist"` (default) mirrors that; `"data"` shows the stored
   * "major,minor" / "(nothing)".
   */
  device?: "zflist" | "data";
}

export interface MetadataGetResponse {
  metadata: string;
  value: unknown;
}

export interface ZflistJson<T> {
  success: boolean;
  error: { function: string; message: string } | null;
  response: T | Record<string, never>;
}

const SPECIAL_NAMES: Record<SpecialType, string> = {
  socket: "unix socket",
  block: "block device",
  chardev: "character device",
  fifo: "fifo",
  unknown: "unknown",
};

export function typeName(node: FlistNode): string {
  switch (node.kind) {
    case "dir":
      return "directory";
    case "file":
      return "regular file";
    case "link":
      return "symlink";
    case "special":
      return SPECIAL_NAMES[node.type];
  }
}

function joinPath(location: string, name: string): string {
  return location === "" ? name : `${location}/${name}`;
}

/** Every entry depth-first in contents order, with its path (`/a/b`). */
function walk(tree: FlistTree, visit: (node: FlistNode, path: string) => void): void {
  // Explicit stack instead of recursion: real flists can nest deeper than is comfortable.
  const stack: { dir: DirNode; location: string; index: number }[] = [{ dir: tree.root, location: "", index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as (typeof stack)[number];
    const node = top.dir.children[top.index];
    if (!node) {
      stack.pop();
      continue;
    }
    top.index += 1;
    const path = joinPath(top.location, node.name);
    visit(node, `/${path}`);
    if (node.kind === "dir") stack.push({ dir: node, location: path, index: 0 });
  }
}

export function findView(tree: FlistTree): FindResponse {
  const result: FindResponse = { content: [], regular: 0, symlink: 0, directory: 0, special: 0, failure: 0, fullsize: 0 };
  walk(tree, (node, path) => {
    result.content.push({ size: node.size, path });
    switch (node.kind) {
      case "dir":
        result.directory += 1;
        break;
      case "file":
        result.regular += 1;
        result.fullsize += node.size;
        break;
      case "link":
        result.symlink += 1;
        break;
      case "special":
        result.special += 1;
        break;
    }
  });
  return result;
}

const TYPE_LETTERS = { dir: "d", file: "f", link: "l", special: "s" } as const;

/** The entries' types for the hub's tree (protocol/publish.ts `entryTypesSchema`), in `findView`'s order. */
export function entryTypes(tree: FlistTree): EntryTypes {
  const letters: string[] = [];
  const targets: string[] = [];
  walk(tree, (node) => {
    letters.push(TYPE_LETTERS[node.kind]);
    if (node.kind === "link") targets.push(node.target);
  });
  return { types: letters.join(""), targets };
}

/** The hub's contents listing (protocol/publish.ts): the `find` response, computed once when publishing. */
export function contentsListing(tree: FlistTree): ContentsListing {
  return findView(tree);
}

/** Finds the directory at `location` ("" = root): at each step the first sub-directory of that name. */
export function findDir(tree: FlistTree, location: string): DirNode | undefined {
  const clean = cleanLocation(location);
  if (clean === "" || clean === ".") return tree.root;
  let dir: DirNode = tree.root;
  for (const part of clean.split("/")) {
    if (part === "" || part === ".") continue;
    const next = dir.children.find((c): c is DirNode => c.kind === "dir" && c.name === part);
    if (!next) return undefined;
    dir = next;
  }
  return dir;
}

export function lsView(tree: FlistTree, dir = "/"): LsEntry[] {
  const node = findDir(tree, dir);
  if (!node) throw new FlistViewError("ls", "no such directory (file parent directory)");
  return node.children.map((c) => ({
    name: c.name,
    type: typeName(c),
    size: c.size,
    user: c.owner.user,
    uid: c.owner.uid,
    group: c.owner.group,
    gid: c.owner.gid,
  }));
}

/** POSIX dirname/basename, as zflist splits its argument. */
function splitPath(path: string): { parent: string; base: string } {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return path.startsWith("/") ? { parent: "/", base: "/" } : { parent: ".", base: "" };
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return { parent: ".", base: trimmed };
  return { parent: trimmed.slice(0, slash) || "/", base: trimmed.slice(slash + 1) };
}

export function statView(tree: FlistTree, path: string, options: StatOptions = {}): StatResponse {
  const { parent, base } = splitPath(path);
  const dir = findDir(tree, parent);
  if (!dir) throw new FlistViewError("stat", "no parent directory found");
  const node = dir.children.find((c) => c.name === base);
  if (!node) throw new FlistViewError("stat", "no such file or directory");
  const location = cleanLocation(parent === "." ? "" : parent);
  const response: StatResponse = {
    file: `/${joinPath(location, node.name)}`,
    size: node.size,
    mode: node.mode,
    user: node.owner.user,
    uid: node.owner.uid,
    group: node.owner.group,
    gid: node.owner.gid,
    created: node.ctime,
    modified: node.mtime,
    chunks: [],
  };
  if (node.kind === "link") response.linkto = node.target;
  if (node.kind === "special") response.device = options.device === "data" ? node.data : "";
  if (node.kind === "file") response.chunks = node.blocks.map((b) => ({ key: toHex(b.hash), decipher: toHex(b.key) }));
  return response;
}

/** `zflist metadata`: the keys, in the database's key order. */
export function metadataListView(tree: FlistTree): string[] {
  return [...tree.metadata.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A metadata value as zflist shows it: jansson's `json_loads(str, 0)` accepts only an object or
 * an array at the top level; anything else (including bare numbers and strings) stays a string.
 */
export function parseMetadataValue(raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    if (value !== null && typeof value === "object") return value;
  } catch {
    // not JSON: free-form value
  }
  return raw;
}

export function metadataGetView(tree: FlistTree, key: string): MetadataGetResponse {
  const raw = tree.metadata.get(key);
  if (raw === undefined) throw new FlistViewError("metadata", "metadata not found");
  return { metadata: key, value: parseMetadataValue(raw) };
}

/** key → parsed value (see {@link parseMetadataValue}), in key order; used when publishing. */
export function metadataObject(tree: FlistTree): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of metadataListView(tree)) result[key] = parseMetadataValue(tree.metadata.get(key) as string);
  return result;
}

/** Runs a view and wraps it like `ZFLIST_JSON=1` output. */
export function zflistJson<T>(view: () => T): ZflistJson<T> {
  try {
    return { success: true, error: null, response: view() };
  } catch (error) {
    if (error instanceof FlistViewError) {
      return { success: false, error: { function: error.fn, message: error.message }, response: {} };
    }
    throw error;
  }
}
