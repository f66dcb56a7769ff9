/**
 * A flist's contents as a browsable tree, one directory level at a time.
 *
 * The stored contents listing (`blobs/<sha256>.contents.json`, zflist `find` shape) is one flat JSON array: for
 * a 30,000-file flist that is several MB to parse for every click. So the first browse of a flist builds a
 * per-directory index once and stores it next to the listing, content-addressed, hence never stale:
 *   `blobs/<sha256>.tree-v2.json`    { typed, dirs: { "<dir>": [byteOffset, byteLength, childCount] } }
 *   `blobs/<sha256>.tree-v2.ndjson`  each directory's children as one JSON line `[[name, size, childCount|-1, type, target?], …]`
 * (`tree-v2-untyped.*` for a flist without stored types).
 * A request then reads the small index (kept parsed in an isolate-level LRU) and one byte range of the lines.
 * A filter (`q`) needs every path: it reads the listing itself, and keeps the last few parsed in memory.
 *
 * Entry types come from `blobs/<sha256>.entries.json`, which publishes since it exists carry (protocol/publish.ts).
 * A flist published before has none: its tree falls back to "a path with children is a directory, the rest are
 * files" (`typed: false`) rather than deriving types from the .flist, which the Worker never parses
 * (docs/design.md §2.1); republishing the flist records them.
 */
import { entryTypesSchema, type EntryTypes } from "../../../../protocol/publish";
import { compareNames } from "../../names";
import type { CatalogStore } from "../../catalog/store/catalog-store";
import type { BlobRow } from "../../catalog/store/rows";

/** `d` directory, `f` regular file, `l` symlink, `s` special (device, fifo, socket). */
export type EntryType = "d" | "f" | "l" | "s";

/** `[name, size, childCount, type, target?]`; childCount -1 = not a directory; target only for symlinks. */
export type Child = [string, number, number, EntryType] | [string, number, number, "l", string];

export interface TreeIndex {
  /** Whether the types are the publisher's (else derived from the paths: see above). */
  typed: boolean;
  dirs: Record<string, [number, number, number]>;
}

interface Listing {
  content: { path: string; size: number }[];
}

/**
 * A tree built without types has keys of its own: the types may arrive later (the same bytes republished by a
 * publisher that sends them), and a reader holding one index must never read the other's lines.
 */
const variant = (typed: boolean) => (typed ? "tree-v2" : "tree-v2-untyped");
export const indexKey = (sha256: string, typed = true) => `blobs/${sha256}.${variant(typed)}.json`;
export const linesKey = (sha256: string, typed = true) => `blobs/${sha256}.${variant(typed)}.ndjson`;

export function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** Normalises a requested directory: `""`, `/`, `/a/`, `a//b` → `/`, `/`, `/a`, `/a/b`. */
export function normaliseDir(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return `/${parts.join("/")}`;
}

/** The listing's entries with their types: the publisher's, else derived from the paths (null: none stored). */
export interface TypedEntry {
  path: string;
  size: number;
  /** Undefined when the publisher sent no types. */
  type?: EntryType;
  target?: string;
}

export function typedEntries(listing: Listing, types: EntryTypes | null): TypedEntry[] {
  if (!types) return listing.content.map(({ path, size }) => ({ path, size }));
  let link = 0;
  return listing.content.map(({ path, size }, i) => {
    const type = types.types[i] as EntryType;
    return type === "l" ? { path, size, type, target: types.targets[link++] ?? "" } : { path, size, type };
  });
}

/** Groups the listing by parent directory; directories first, then names in code-point order. */
export function buildTree(listing: Listing, types: EntryTypes | null = null): { index: TreeIndex; lines: string } {
  type Node = { name: string; path: string; size: number; type?: EntryType; target?: string };
  const children = new Map<string, Node[]>();
  const isDir = new Set<string>(["/"]);
  children.set("/", []);
  for (const entry of typedEntries(listing, types)) {
    const { path } = entry;
    if (path === "/" || path === "") continue;
    const parent = parentOf(path);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push({ ...entry, name: path.slice(parent === "/" ? 1 : parent.length + 1) });
    if (entry.type === "d") {
      isDir.add(path);
      // An empty directory still is one: it gets its (empty) line, so opening it answers no entries, not a 404.
      if (!children.has(path)) children.set(path, []);
    }
  }
  // Directories that only appear as parents (listings normally include them, but be lenient).
  for (const dir of [...children.keys()]) {
    let d = dir;
    while (d !== "/") {
      isDir.add(d);
      const parent = parentOf(d);
      let list = children.get(parent);
      if (!list) children.set(parent, (list = []));
      if (!list.some((c) => c.path === d)) list.push({ name: d.slice(parent === "/" ? 1 : parent.length + 1), path: d, size: 4096, type: "d" });
      else break;
      d = parent;
    }
  }
  const encoder = new TextEncoder();
  const dirs: TreeIndex["dirs"] = {};
  const parts: string[] = [];
  let offset = 0;
  for (const [dir, list] of children) {
    const rows: Child[] = list.map((c) => {
      // Without the publisher's types, only a path with children is known to be a directory.
      const type: EntryType = c.type ?? (isDir.has(c.path) ? "d" : "f");
      const count = type === "d" ? (children.get(c.path)?.length ?? 0) : -1;
      return type === "l" ? [c.name, c.size, count, type, c.target ?? ""] : [c.name, c.size, count, type];
    });
    rows.sort((a, b) => ((a[3] === "d") !== (b[3] === "d") ? (a[3] === "d" ? -1 : 1) : compareNames(a[0], b[0])));
    const line = `${JSON.stringify(rows)}\n`;
    const length = encoder.encode(line).length;
    dirs[dir] = [offset, length, rows.length];
    parts.push(line);
    offset += length;
  }
  return { index: { typed: types !== null, dirs }, lines: parts.join("") };
}

/** A tiny LRU (Map keeps insertion order). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

const indexes = new Lru<TreeIndex>(16);
const listings = new Lru<{ listing: Listing; types: EntryTypes | null }>(2);
/** Directory lines of a tree built in this isolate whose R2 write may not have finished yet. */
const freshLines = new Lru<{ typed: boolean; bytes: Uint8Array }>(2);

/** The stored entry types, checked against the listing (a mismatch falls back to no types, loudly). */
async function readTypes(store: CatalogStore, blob: BlobRow, listing: Listing): Promise<EntryTypes | null> {
  const raw = await store.entryTypesJson(blob.sha256);
  if (raw === null) return null;
  const parsed = entryTypesSchema.safeParse(raw);
  if (parsed.success && parsed.data.types.length === listing.content.length) return parsed.data;
  console.error(`entry types of ${blob.sha256} do not match its listing: the tree shows derived types`);
  return null;
}

async function readListing(store: CatalogStore, blob: BlobRow): Promise<{ listing: Listing; types: EntryTypes | null }> {
  const cached = listings.get(blob.sha256);
  if (cached?.types) return cached;
  if (cached) {
    const read = { listing: cached.listing, types: await readTypes(store, blob, cached.listing) };
    listings.set(blob.sha256, read);
    return read;
  }
  const body = await store.contentsBody(blob);
  if (!body) throw new Error(`contents listing ${blob.contents_key} missing from storage`);
  const listing = (await new Response(body).json()) as Listing;
  const read = { listing, types: await readTypes(store, blob, listing) };
  listings.set(blob.sha256, read);
  return read;
}

/** The stored index of one variant, parsed (null: not built yet). */
async function storedIndex(bucket: R2Bucket, sha256: string, typed: boolean): Promise<TreeIndex | null> {
  const stored = await bucket.get(indexKey(sha256, typed));
  return stored ? ((await stored.json()) as TreeIndex) : null;
}

/**
 * The tree index of a flist: from memory, else from R2 (`bucket`: the tree's own objects), else built from the
 * catalog's listing (and stored, through `defer` so the answer does not wait for the writes). An untyped index
 * is used only while the blob still has no stored types.
 */
export async function treeIndex(
  bucket: R2Bucket,
  store: CatalogStore,
  blob: BlobRow,
  defer: (work: Promise<unknown>) => void,
): Promise<TreeIndex> {
  const cached = indexes.get(blob.sha256);
  // An untyped index is rechecked on every use (one R2 read of a missing key): the types may have arrived since.
  if (cached && (cached.typed || (await store.entryTypesJson(blob.sha256)) === null)) return cached;
  const typedIndex = await storedIndex(bucket, blob.sha256, true);
  if (typedIndex) {
    indexes.set(blob.sha256, typedIndex);
    return typedIndex;
  }
  const untyped = await storedIndex(bucket, blob.sha256, false);
  if (untyped && (await store.entryTypesJson(blob.sha256)) === null) {
    indexes.set(blob.sha256, untyped);
    return untyped;
  }
  const { listing, types } = await readListing(store, blob);
  const { index, lines } = buildTree(listing, types);
  indexes.set(blob.sha256, index);
  freshLines.set(blob.sha256, { typed: index.typed, bytes: new TextEncoder().encode(lines) });
  // Lines first, index last: a reader that finds the index always finds the lines.
  defer(
    bucket
      .put(linesKey(blob.sha256, index.typed), lines, { httpMetadata: { contentType: "application/x-ndjson" } })
      .then(() => bucket.put(indexKey(blob.sha256, index.typed), JSON.stringify(index), { httpMetadata: { contentType: "application/json" } })),
  );
  return index;
}

/** The children of one directory (null: no such directory). */
export async function readDirectory(
  bucket: R2Bucket,
  blob: BlobRow,
  index: TreeIndex,
  dir: string,
): Promise<Child[] | null> {
  const slot = index.dirs[dir];
  if (!slot) return null;
  const [offset, length] = slot;
  const fresh = freshLines.get(blob.sha256);
  let line: string;
  if (fresh !== undefined && fresh.typed === index.typed) {
    line = new TextDecoder().decode(fresh.bytes.subarray(offset, offset + length));
  } else {
    const object = await bucket.get(linesKey(blob.sha256, index.typed), { range: { offset, length } });
    if (!object) throw new Error(`tree lines of ${blob.sha256} missing from storage`);
    line = await object.text();
  }
  return JSON.parse(line) as Child[];
}

export interface Match {
  path: string;
  size: number;
  /** Only when the publisher sent the types. */
  type?: EntryType;
  target?: string;
}

/** Paths containing `q` (case-insensitive), at most `limit`. */
export async function filterPaths(
  store: CatalogStore,
  blob: BlobRow,
  q: string,
  limit: number,
): Promise<{ matches: Match[]; truncated: boolean; typed: boolean }> {
  const { listing, types } = await readListing(store, blob);
  const needle = q.toLowerCase();
  const matches: Match[] = [];
  for (const e of typedEntries(listing, types)) {
    if (!e.path.toLowerCase().includes(needle)) continue;
    if (matches.length === limit) return { matches, truncated: true, typed: types !== null };
    matches.push(e);
  }
  return { matches, truncated: false, typed: types !== null };
}
