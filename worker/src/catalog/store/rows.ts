/** Row shapes of the catalog tables (migrations/0001_catalog.sql) and of the store's composite reads. */

export type EntryKind = "regular" | "symlink" | "taglink";

export interface RepositoryRow {
  name: string;
  created: number;
  updated: number;
}

export interface EntryRow {
  repository: string;
  name: string;
  kind: EntryKind;
  blob: string | null;
  target_repository: string | null;
  target_name: string | null;
  target_raw: string | null;
  created: number;
  updated: number;
  linktime: number | null;
}

export interface BlobRow {
  sha256: string;
  md5: string;
  size: number;
  regular: number;
  symlink: number;
  directory: number;
  special: number;
  failure: number;
  fullsize: number;
  metadata: string;
  blob_key: string;
  contents_key: string;
  created: number;
}

export interface TagRow {
  repository: string;
  name: string;
  created: number;
  updated: number;
}

export interface TagMemberRow {
  repository: string;
  tag: string;
  name: string;
  target_repository: string;
  target_name: string;
  linktime: number;
}

export interface VersionRow extends EntryRow {
  version: number;
  replaced: number;
  reason: string;
}

/** A version with the md5 and size of its blob (null for links). */
export type VersionWithBlob = VersionRow & { md5: string | null; size: number | null };

/** A link chain as followed from its first entry; `blob` is set when the chain ends on a regular entry. */
export interface Chain {
  entries: EntryRow[];
  blob: BlobRow | null;
}

// ---- listings ---------------------------------------------------------------------------------------

/** An entry as a listing needs it: its own row plus the size of its blob for regular entries. */
export interface ListedEntryRow {
  repository: string;
  name: string;
  kind: EntryRow["kind"];
  target_raw: string | null;
  updated: number;
  linktime: number | null;
  size: number | null;
}

/** Where a link (entry or tag member) finally lands: the regular entry's time and blob size. */
export interface ResolvedLinkRow {
  repository: string;
  origin: string;
  updated: number;
  size: number;
}

/** A taglink whose tag exists, with the tag's time. */
export interface TaglinkTagRow {
  repository: string;
  name: string;
  updated: number;
}

export interface ListingRows {
  entries: ListedEntryRow[];
  tags: TagRow[];
  resolved: ResolvedLinkRow[];
  taglinks: TaglinkTagRow[];
}

export interface TagListingRows {
  members: TagMemberRow[];
  resolved: ResolvedLinkRow[];
}

/** A garbage blob's R2 keys, answered once its row is deleted (catalog/retention.ts). */
export interface GarbageBlob {
  sha256: string;
  blob_key: string;
  contents_key: string;
}

/** Per-repository counts of the home page. */
export interface RepositoryCounts {
  flists: number;
  links: number;
}

/** Rows of the website search (web/search/query.ts). */
export interface SearchRows {
  repositories: { name: string; updated: number }[];
  names: { repository: string; name: string; kind: EntryKind; updated: number }[];
  readmes: { repository: string; name: string; kind: EntryKind; updated: number; snippet: string }[];
}
