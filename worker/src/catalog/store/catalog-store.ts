/**
 * The catalog's storage, as one typed interface: every read and write of the catalog tables (migrations/0001_catalog.sql,
 * 0005_search.sql, 0010_blob_gc.sql) and of the .flist objects goes through it. d1-r2.ts implements it over D1 + R2;
 * the catalog services (read.ts, write.ts, publish.ts, history.ts, retention.ts) decide, this only stores.
 */
import type {
  BlobRow,
  Chain,
  EntryKind,
  EntryRow,
  GarbageBlob,
  ListingRows,
  RepositoryCounts,
  RepositoryRow,
  SearchRows,
  TagListingRows,
  TagMemberRow,
  TagRow,
  VersionRow,
  VersionWithBlob,
} from "./rows";

/** A new state for an entry name. */
export interface EntryWrite {
  repository: string;
  name: string;
  kind: EntryKind;
  blob?: string | null;
  targetRepository?: string | null;
  targetName?: string | null;
  targetRaw?: string | null;
  updated: number;
  linktime?: number | null;
}

/**
 * One step of an operation; `commit` applies a list of them as a single transaction. The `expect*` steps re-check
 * inside the transaction what the service checked before (so a concurrent change in between cannot slip through,
 * e.g. a rename whose source was just deleted); one failing makes the whole operation a no-op.
 */
export type CatalogChange =
  /** The entry exists (`regular`: and is a flist), or with `expectNoEntry` does not. */
  | { op: "expectEntry" | "expectNoEntry"; repository: string; name: string; regular?: boolean }
  | { op: "expectTag"; repository: string; tag: string }
  | { op: "expectTagMember"; repository: string; tag: string; name: string; targetRepository: string; targetName: string }
  | { op: "expectVersion"; repository: string; name: string; version: number }
  /** Copies the current entry `name` (if any) into its history as the next version; put it before what replaces it. */
  | { op: "archive"; repository: string; name: string; reason: string }
  /** Writes the entry, replacing whatever had that name (archive it first). */
  | { op: "putEntry"; entry: EntryWrite }
  | { op: "deleteEntry"; repository: string; name: string }
  /** Renames in place: a relative link keeps its target, times are kept (POSIX rename). */
  | { op: "renameEntry"; repository: string; from: string; to: string }
  /** Creates the repository if needed and marks it changed (its `updated` is what mirrors poll). */
  | { op: "touchRepository"; repository: string }
  /** Creates the tag or marks it changed. */
  | { op: "touchTag"; repository: string; tag: string }
  | { op: "putTagMember"; repository: string; tag: string; name: string; targetRepository: string; targetName: string }
  | { op: "deleteTagMember"; repository: string; tag: string; name: string }
  /** Removes the tag if it has no member left (the original `rmdir`s the emptied tag directory). */
  | { op: "deleteTagIfEmpty"; repository: string; tag: string };

/** A link target whose change makes stale the links to it: an entry (`symlink` links) or a tag (`taglink`s). */
export interface LinkTarget {
  repository: string;
  name: string;
  kind: "symlink" | "taglink";
}

/** A read that also says whether its repository exists, in the same round trip. */
export interface InRepository<T> {
  repository: RepositoryRow | null;
  rows: T;
}

/** A new .flist blob row (content-addressed: the same bytes published twice are one row, first metadata wins). */
export interface NewBlob {
  sha256: string;
  md5: string;
  size: number;
  counts: { regular: number; symlink: number; directory: number; special: number; failure: number; fullsize: number };
  metadata: string;
}

/** A publish's rows, committed as one transaction (catalog/publish.ts). */
export interface Publication {
  blob: NewBlob;
  /** The entry's own steps (archive, put, touch). */
  changes: CatalogChange[];
  /** Records the job id's result: a second publish of the same id then answers "duplicate" (idempotency). */
  record?: { jobId: string; repository: string; name: string; sha256: string; result: string };
  /** The job's success, committed with the rows, only while `attempt` is its running attempt (else "stale"). */
  job?: { id: string; attempt: number; result: string; event: unknown };
}

export interface CatalogStore {
  repository(name: string): Promise<RepositoryRow | null>;
  repositories(): Promise<RepositoryRow[]>;
  entry(repository: string, name: string): Promise<EntryRow | null>;
  blob(sha256: string): Promise<BlobRow | null>;
  tag(repository: string, name: string): Promise<TagRow | null>;
  tagMember(repository: string, tag: string, name: string): Promise<TagMemberRow | null>;
  /**
   * Follows symlinks from (repository, name), each step a primary-key lookup; a loop stops after 40 hops (Linux MAXSYMLINKS), a
   * dangling link where the target is missing. An empty chain means the first entry does not exist.
   */
  followChain(repository: string, name: string): Promise<Chain>;
  /** followChain and the repository's row in one round trip (the public reads' one D1 query). */
  resolve(repository: string, name: string): Promise<InRepository<Chain>>;
  /** Everything a repository listing needs, in one round trip; `null` lists every repository. */
  listing(repository: string | null): Promise<ListingRows>;
  /** listing(repository) with the repository's row, in one round trip. */
  repositoryListing(repository: string): Promise<InRepository<ListingRows>>;
  /** Every repository and listing(null), in one round trip. */
  catalogListing(): Promise<{ repositories: RepositoryRow[]; rows: ListingRows }>;
  tagListing(repository: string, tag: string): Promise<TagListingRows>;
  /** tagListing with the repository's and the tag's rows, in one round trip. */
  tagListingIn(repository: string, tag: string): Promise<InRepository<TagListingRows> & { tag: TagRow | null }>;
  /** The entries whose links lead to one of `targets`, directly or through other links (store/edge-purge.ts). */
  linksInto(targets: LinkTarget[]): Promise<LinkTarget[]>;
  /** `repo/entry` for every entry and `repo/.tag-<tag>` for every tag, like the original's directory walk. */
  entryPaths(): Promise<string[]>;
  repositoryCounts(): Promise<Map<string, RepositoryCounts>>;
  /** Names matching the LIKE pattern `like`, readmes matching the FTS5 query `fts` (none when null). */
  search(like: string, fts: string | null, limit: number): Promise<SearchRows>;
  /** Newest first. */
  versions(repository: string, name: string): Promise<VersionWithBlob[]>;
  version(repository: string, name: string, version: number): Promise<VersionRow | null>;
  /** The stored result of a job id's publish. */
  publishedJob(jobId: string): Promise<{ job_id: string; result: string } | null>;

  /** Applies the changes as one transaction: "conflict" when an `expect*` step failed (nothing was written). */
  commit(changes: CatalogChange[], now: number): Promise<"committed" | "conflict">;
  /** "duplicate": the job id already published; "stale": the job's attempt is no longer the running one. */
  publish(publication: Publication, now: number): Promise<"published" | "duplicate" | "stale">;

  /** Writes the .flist bytes; R2 re-checks the MD5, so a corrupted transfer is refused. */
  putFlist(sha256: string, md5: string, body: Blob): Promise<void>;
  putContents(sha256: string, listingJson: string): Promise<void>;
  /** The entries' types (protocol/publish.ts), JSON text; only publishes that sent them have one. */
  putEntryTypes(sha256: string, entriesJson: string): Promise<void>;
  /** The entries' types of the blob `sha256`, parsed; null when its publisher sent none. */
  entryTypesJson(sha256: string): Promise<unknown | null>;
  /** Whether both objects of the blob are in R2. */
  hasObjects(sha256: string): Promise<boolean>;
  /** The .flist bytes (a range of them), null when the object is missing. */
  flistBody(blob: Pick<BlobRow, "blob_key">, range?: { offset: number; length: number }): Promise<ReadableStream | null>;
  /** The contents listing as stored (JSON text), null when missing. */
  contentsBody(blob: Pick<BlobRow, "contents_key">): Promise<ReadableStream | null>;
  /** The contents listing of the blob `sha256`, parsed; null when missing. */
  contentsJson(sha256: string): Promise<unknown | null>;

  /** Marks the blob as about to be referenced (a publish reusing it): the collector leaves it alone for the grace. */
  touchBlob(sha256: string, now: number): Promise<void>;
  /** Deletes up to `limit` versions replaced before `before`; answers the blobs they referred to (distinct). */
  pruneVersions(before: number, limit: number): Promise<{ versions: number; blobs: string[] }>;
  /**
   * Deletes the row of `sha256` if no entry or version refers to it and nothing touched it since `touchedBefore`,
   * in one statement; answers its R2 keys when it went (only then may its objects be deleted).
   */
  deleteGarbageBlob(sha256: string, touchedBefore: number): Promise<GarbageBlob | null>;
  deleteObjects(garbage: GarbageBlob): Promise<void>;
}
