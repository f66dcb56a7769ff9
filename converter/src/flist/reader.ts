/**
 * Reads a legacy `.flist` (docs/flist-format.md §1–§2): gzip(tar) → SQLite (`entries`, `metadata`) →
 * Cap'n Proto `Dir` records, into the shared {@link FlistTree} model.
 *
 * API:
 * - `openFlist(pathOrBytes, options?) → Promise<FlistReader>`: `tree()` (whole tree), `metadata()`,
 *   `dir(location)` (one directory and its subtree, looked up by `dirKey(location)` like 0-fs),
 *   `close()`.
 * - `readFlist(pathOrBytes, options?) → Promise<FlistTree>`: open, read everything, close.
 * - `openFlistDatabase(sqliteBytes, options?)`: the same reader over an already extracted database.
 *
 * Rules kept from the reference readers:
 * - sub-directories are followed by `SubDir.key`; when that entry is missing the path key is tried
 *   (zflist itself looks directories up by the hashed path);
 * - ACL records are looked up by the stored key and never recomputed (old flists hashed other
 *   strings); a missing ACL is an error (libflist silently drops such entries);
 * - an entry's permissions, owner, size and times come from its `Inode` in the parent's `contents`
 *   (what `zflist ls/stat` show); the root's come from its own `Dir` record;
 * - `mode` is masked to 07777 (old flists stored the full st_mode);
 * - a missing `metadata` table reads as no metadata;
 * - names and link targets must be valid UTF-8 unless `strictUtf8: false` (lossy, for listing).
 * Every malformed input fails with a {@link FlistFormatError} naming the problem.
 */
import Database from "better-sqlite3";
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits, extractDatabase, sourceOf } from "./archive.ts";
import { type AciRecord, type DirRecord, type InodeRecord, decodeAci, decodeDir } from "./codec.ts";
import { FlistFormatError } from "./errors.ts";
import { ROOT_KEY, cleanLocation, dirKey } from "./keys.ts";
import type { DirNode, FlistNode, FlistTree, Metadata, Owner, SpecialType } from "./model.ts";

export interface ReadOptions extends Partial<ExtractLimits> {
  /** Largest number of entries (all kinds) a tree may have; protects against DAG blow-ups. Default 20,000,000. */
  maxEntries?: number;
  /** Deepest accepted directory nesting (PATH_MAX 4096 allows at most 2048 levels). Default 2048. */
  maxDepth?: number;
  /**
   * Reject entry names and link targets that are not valid UTF-8 (default true): the tree holds
   * strings, so such a flist could not be written back with the same directory keys. `false`
   * reads them lossily (U+FFFD) for listing.
   */
  strictUtf8?: boolean;
}

export interface FlistReader {
  /** The whole tree (root directory and metadata). */
  tree(): FlistTree;
  /** The `metadata` table (key → raw TEXT), sorted by key; empty when the table is absent. */
  metadata(): Metadata;
  /** The directory at `location` ("" or "/" = root) with its subtree, or undefined when there is none. */
  dir(location: string): DirNode | undefined;
  close(): void;
}

const SPECIAL_TYPES: readonly SpecialType[] = ["socket", "block", "chardev", "fifo", "unknown"];
const utf8 = new TextDecoder();

interface Access {
  mode: number;
  owner: Owner;
}

function u64(value: bigint): number {
  return Number(value);
}

/** A path for error messages, shortened in the middle when very long. */
function displayPath(location: string): string {
  const path = `/${location}`;
  return path.length <= 200 ? path : `${path.slice(0, 80)}…${path.slice(-100)}`;
}

class SqliteFlistReader implements FlistReader {
  private readonly getEntry: Database.Statement<[string], { value: unknown }>;
  private readonly acls = new Map<string, Access>();
  private entries = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly maxEntries: number,
    private readonly maxDepth: number,
    private readonly strictUtf8: boolean,
  ) {
    this.getEntry = db.prepare("SELECT value FROM entries WHERE key = ?");
  }

  close(): void {
    this.db.close();
  }

  metadata(): Metadata {
    const result: Metadata = new Map();
    // Old flists have no metadata table (rfs v1 treats that as "no tags" too); a table that exists
    // but cannot be read is an error, not "no metadata".
    if (!this.sql("metadata", () => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metadata'").get())) {
      return result;
    }
    const rows = this.sql("metadata", () => this.db.prepare("SELECT key, value FROM metadata ORDER BY key").all() as { key: unknown; value: unknown }[]);
    for (const row of rows) result.set(textOf(row.key), row.value == null ? "" : textOf(row.value));
    return result;
  }

  /** Runs a query; SQLite failures (a corrupt database) become FlistFormatErrors. */
  private sql<T>(what: string, query: () => T): T {
    try {
      return query();
    } catch (error) {
      throw new FlistFormatError(`cannot read ${what} from flistdb.sqlite3: ${messageOf(error)}`, { cause: error });
    }
  }

  tree(): FlistTree {
    const root = this.dir("");
    if (!root) throw new FlistFormatError(`flist has no root directory entry (${ROOT_KEY})`);
    return { root, metadata: this.metadata() };
  }

  dir(location: string): DirNode | undefined {
    const clean = cleanLocation(location);
    const key = dirKey(clean);
    const record = this.loadDirRecord(key, clean);
    if (!record) return undefined;
    this.entries = 0;
    const access = this.access(record.aclkey, clean);
    const node: DirNode = {
      kind: "dir",
      name: clean === "" ? "" : clean.slice(clean.lastIndexOf("/") + 1),
      mode: access.mode,
      owner: access.owner,
      mtime: record.modificationTime,
      ctime: record.creationTime,
      size: u64(record.size),
      children: [],
    };
    this.fillChildren(node, record, clean, new Set([key]));
    return node;
  }

  private raw(key: string): Uint8Array | undefined {
    const row = this.sql(`entry ${key}`, () => this.getEntry.get(key));
    if (!row) return undefined;
    if (row.value instanceof Uint8Array) return row.value;
    throw new FlistFormatError(`entry ${key} does not hold a BLOB value`);
  }

  private loadDirRecord(key: string, location: string): DirRecord | undefined {
    const value = this.raw(key);
    if (!value) return undefined;
    try {
      return decodeDir(value, { strictUtf8: this.strictUtf8 });
    } catch (error) {
      throw new FlistFormatError(`corrupt Cap'n Proto Dir in entry ${key} ("${displayPath(location)}"): ${messageOf(error)}`, { cause: error });
    }
  }

  private access(aclkey: string, path: string): Access {
    const cached = this.acls.get(aclkey);
    if (cached) return cached;
    const value = aclkey === "" ? undefined : this.raw(aclkey);
    if (!value) throw new FlistFormatError(`ACL entry "${aclkey}" of "${displayPath(path)}" is missing`);
    let aci: AciRecord;
    try {
      aci = decodeAci(value);
    } catch (error) {
      throw new FlistFormatError(`corrupt Cap'n Proto ACI in entry ${aclkey}: ${messageOf(error)}`, { cause: error });
    }
    const access: Access = {
      mode: aci.mode & 0o7777,
      owner: { uid: Number(aci.uid), gid: Number(aci.gid), user: aci.uname, group: aci.gname },
    };
    this.acls.set(aclkey, access);
    return access;
  }

  private countEntry(path: string): void {
    this.entries += 1;
    if (this.entries > this.maxEntries) {
      throw new FlistFormatError(`flist has more than ${this.maxEntries} entries (at "${displayPath(path)}"; limit maxEntries)`);
    }
  }

  private fillChildren(node: DirNode, record: DirRecord, location: string, ancestors: Set<string>): void {
    for (const inode of record.contents) {
      const path = location === "" ? inode.name : `${location}/${inode.name}`;
      this.countEntry(path);
      node.children.push(this.child(inode, path, ancestors));
    }
  }

  /** Follows SubDir.key (as rfs does); when that entry is absent, the path key (as zflist and 0-fs do). */
  private subdir(subKey: string, path: string, ancestors: Set<string>): { key: string; record: DirRecord } {
    for (const key of [subKey, dirKey(path)]) {
      if (ancestors.has(key)) {
        throw new FlistFormatError(`directory cycle: "${displayPath(path)}" refers to its ancestor entry ${key}`);
      }
      const record = this.loadDirRecord(key, path);
      if (record) return { key, record };
    }
    throw new FlistFormatError(`directory entry ${subKey} for "${displayPath(path)}" is missing`);
  }

  private child(inode: InodeRecord, path: string, ancestors: Set<string>): FlistNode {
    const a = inode.attributes;
    const base = {
      name: inode.name,
      mtime: inode.modificationTime,
      ctime: inode.creationTime,
      size: u64(inode.size),
    };
    switch (a.kind) {
      case "dir": {
        if (ancestors.size > this.maxDepth) {
          throw new FlistFormatError(`directory "${displayPath(path)}" is nested deeper than ${this.maxDepth} levels (limit maxDepth)`);
        }
        const { key, record } = this.subdir(a.key, path, ancestors);
        const access = this.access(inode.aclkey !== "" ? inode.aclkey : record.aclkey, path);
        const dir: DirNode = { kind: "dir", ...base, ...access, children: [] };
        ancestors.add(key);
        this.fillChildren(dir, record, path, ancestors);
        ancestors.delete(key);
        return dir;
      }
      case "file":
        return {
          kind: "file",
          ...base,
          ...this.access(inode.aclkey, path),
          blocks: a.blocks.map((b) => ({ hash: b.hash, key: b.key })),
        };
      case "link":
        return { kind: "link", ...base, ...this.access(inode.aclkey, path), target: a.target };
      case "special":
        return {
          kind: "special",
          ...base,
          ...this.access(inode.aclkey, path),
          type: SPECIAL_TYPES[a.type] ?? "unknown",
          data: utf8.decode(a.data),
        };
    }
  }
}

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return String(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Opens an extracted `flistdb.sqlite3` (bytes) as a flist. */
export function openFlistDatabase(bytes: Uint8Array, options: ReadOptions = {}): FlistReader {
  let db: Database.Database | undefined;
  try {
    db = new Database(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'entries'").get();
    if (!table) throw new FlistFormatError("flistdb.sqlite3 has no entries table: not a flist database");
    return new SqliteFlistReader(db, options.maxEntries ?? 20_000_000, options.maxDepth ?? 2048, options.strictUtf8 ?? true);
  } catch (error) {
    db?.close();
    if (error instanceof FlistFormatError) throw error;
    throw new FlistFormatError(`flistdb.sqlite3 is not a valid SQLite database: ${messageOf(error)}`, { cause: error });
  }
}

/** Opens a `.flist` file (path) or its bytes. */
export async function openFlist(input: string | Uint8Array, options: ReadOptions = {}): Promise<FlistReader> {
  const limits: ExtractLimits = {
    maxDatabaseBytes: options.maxDatabaseBytes ?? DEFAULT_EXTRACT_LIMITS.maxDatabaseBytes,
    maxArchiveBytes: options.maxArchiveBytes ?? DEFAULT_EXTRACT_LIMITS.maxArchiveBytes,
  };
  const bytes = await extractDatabase(sourceOf(input), limits);
  return openFlistDatabase(bytes, options);
}

/** Reads a whole `.flist` into a tree. */
export async function readFlist(input: string | Uint8Array, options: ReadOptions = {}): Promise<FlistTree> {
  const reader = await openFlist(input, options);
  try {
    return reader.tree();
  } finally {
    reader.close();
  }
}
