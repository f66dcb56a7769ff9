/** Row shapes of the catalog tables (migrations/0001_catalog.sql). */

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
