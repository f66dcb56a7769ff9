/**
 * A flist's contents as a browsable tree, one directory level at a time.
 *
 * The stored contents listing (`blobs/<sha256>.contents.json`, zflist `find` shape) is one flat JSON array: for
 * a 30,000-file flist that is several MB to parse for every click. So the first browse of a flist builds a
 * per-directory index once and stores it next to the listing, content-addressed, hence never stale:
 *   `blobs/<sha256>.tree-v1.json`    { dirs: { "<dir>": [byteOffset, byteLength, childCount] } }
 *   `blobs/<sha256>.tree-v1.ndjson`  each directory's children as one JSON line `[[name, size, childCount|-1], …]`
 * A request then reads the small index (kept parsed in an isolate-level LRU) and one byte range of the lines.
 * A filter (`q`) needs every path: it reads the listing itself, and keeps the last few parsed in memory.
 */
import { compareNames } from "../../names";
import type { CatalogStore } from "../../catalog/store/catalog-store";
import type { BlobRow } from "../../catalog/store/rows";

/** `[name, size, childCount]`; childCount -1 = not a directory (no entry under it). */
export type Child = [string, number, number];

export interface TreeIndex {
  dirs: Record<string, [number, number, number]>;
}

interface Listing {
  content: { path: string; size: number }[];
}

export const indexKey = (sha256: string) => `blobs/${sha256}.tree-v1.json`;
export const linesKey = (sha256: string) => `blobs/${sha256}.tree-v1.ndjson`;

export function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** Normalises a requested directory: `""`, `/`, `/a/`, `a//b` → `/`, `/`, `/a`, `/a/b`. */
export function normaliseDir(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return `/${parts.join("/")}`;
}

/** Groups the listing by parent directory; directories first, then names in code-point order. */
export function buildTree(listing: Listing): { index: TreeIndex; lines: string } {
  const children = new Map<string, { name: string; path: string; size: number }[]>();
  children.set("/", []);
  for (const { path, size } of listing.content) {
    if (path === "/" || path === "") continue;
    const parent = parentOf(path);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push({ name: path.slice(parent === "/" ? 1 : parent.length + 1), path, size });
  }
  // Directories that only appear as parents (listings normally include them, but be lenient).
  for (const dir of [...children.keys()]) {
    let d = dir;
    while (d !== "/") {
      const parent = parentOf(d);
      let list = children.get(parent);
      if (!list) children.set(parent, (list = []));
      if (!list.some((c) => c.path === d)) list.push({ name: d.slice(parent === "/" ? 1 : parent.length + 1), path: d, size: 4096 });
      else break;
      d = parent;
    }
  }
  const encoder = new TextEncoder();
  const dirs: TreeIndex["dirs"] = {};
  const parts: string[] = [];
  let offset = 0;
  for (const [dir, list] of children) {
    const rows: Child[] = list.map((c) => [c.name, c.size, children.get(c.path)?.length ?? -1]);
    rows.sort((a, b) => (a[2] >= 0) !== (b[2] >= 0) ? (a[2] >= 0 ? -1 : 1) : compareNames(a[0], b[0]));
    const line = `${JSON.stringify(rows)}\n`;
    const length = encoder.encode(line).length;
    dirs[dir] = [offset, length, rows.length];
    parts.push(line);
    offset += length;
  }
  return { index: { dirs }, lines: parts.join("") };
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
const listings = new Lru<Listing>(2);
/** Directory lines of a tree built in this isolate whose R2 write may not have finished yet. */
const freshLines = new Lru<Uint8Array>(2);

async function readListing(store: CatalogStore, blob: BlobRow): Promise<Listing> {
  const cached = listings.get(blob.sha256);
  if (cached) return cached;
  const body = await store.contentsBody(blob);
  if (!body) throw new Error(`contents listing ${blob.contents_key} missing from storage`);
  const listing = (await new Response(body).json()) as Listing;
  listings.set(blob.sha256, listing);
  return listing;
}

/**
 * The tree index of a flist: from memory, else from R2 (`bucket`: the tree's own objects), else built from the
 * catalog's listing (and stored, through `defer` so the answer does not wait for the writes).
 */
export async function treeIndex(
  bucket: R2Bucket,
  store: CatalogStore,
  blob: BlobRow,
  defer: (work: Promise<unknown>) => void,
): Promise<TreeIndex> {
  const cached = indexes.get(blob.sha256);
  if (cached) return cached;
  const stored = await bucket.get(indexKey(blob.sha256));
  if (stored) {
    const index = (await stored.json()) as TreeIndex;
    indexes.set(blob.sha256, index);
    return index;
  }
  const { index, lines } = buildTree(await readListing(store, blob));
  indexes.set(blob.sha256, index);
  freshLines.set(blob.sha256, new TextEncoder().encode(lines));
  // Lines first, index last: a reader that finds the index always finds the lines.
  defer(
    bucket
      .put(linesKey(blob.sha256), lines, { httpMetadata: { contentType: "application/x-ndjson" } })
      .then(() => bucket.put(indexKey(blob.sha256), JSON.stringify(index), { httpMetadata: { contentType: "application/json" } })),
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
  if (fresh !== undefined) {
    line = new TextDecoder().decode(fresh.subarray(offset, offset + length));
  } else {
    const object = await bucket.get(linesKey(blob.sha256), { range: { offset, length } });
    if (!object) throw new Error(`tree lines of ${blob.sha256} missing from storage`);
    line = await object.text();
  }
  return JSON.parse(line) as Child[];
}

export interface Match {
  path: string;
  size: number;
}

/** Paths containing `q` (case-insensitive), at most `limit`. */
export async function filterPaths(
  store: CatalogStore,
  blob: BlobRow,
  q: string,
  limit: number,
): Promise<{ matches: Match[]; truncated: boolean }> {
  const listing = await readListing(store, blob);
  const needle = q.toLowerCase();
  const matches: Match[] = [];
  for (const e of listing.content) {
    if (!e.path.toLowerCase().includes(needle)) continue;
    if (matches.length === limit) return { matches, truncated: true };
    matches.push({ path: e.path, size: e.size });
  }
  return { matches, truncated: false };
}
