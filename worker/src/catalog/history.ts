/**
 * Version history of a name: every entry that an overwrite (publish, rename, promote, link, restore) or a
 * delete replaced. Public, like every other read of the catalog.
 */
import { HubError } from "../http/errors";
import { FLIST_SUFFIX } from "../names";
import type { CatalogStore } from "./store/catalog-store";
import type { EntryRow } from "./store/rows";
import { requireRepository } from "./read";

export interface HistoryVersion {
  version: number;
  type: EntryRow["kind"];
  /** Regular versions: the flist that was served (`/api/blobs/<sha256>.flist` still serves it). */
  sha256?: string;
  md5?: string | null;
  size?: number | null;
  /** Link versions: the raw target, as `/light` shows it. */
  target?: string;
  updated: number;
  linktime?: number;
  /** When this version stopped being current, and why. */
  replaced: number;
  reason: string;
}

export interface History {
  repository: string;
  name: string;
  /** The current entry, `null` when the name was deleted or renamed away. */
  current: { type: EntryRow["kind"]; sha256?: string; target?: string; updated: number } | null;
  /** Newest first. */
  versions: HistoryVersion[];
}

/**
 * Candidate stored names for a URL name: `x` and `x.flist` are the same flist, but a taglink is stored as
 * `x`, so a name without the suffix may also be a taglink's history.
 */
export function historyNames(raw: string, normalised: string): string[] {
  return raw.endsWith(FLIST_SUFFIX) ? [normalised] : [normalised, raw];
}

export async function entryHistory(store: CatalogStore, repository: string, names: string[]): Promise<History> {
  await requireRepository(store, repository);
  for (const name of names) {
    const [current, versions] = await Promise.all([store.entry(repository, name), store.versions(repository, name)]);
    if (!current && versions.length === 0) continue;
    return {
      repository,
      name,
      current: current
        ? {
            type: current.kind,
            ...(current.blob ? { sha256: current.blob } : { target: current.target_raw ?? "" }),
            updated: current.updated,
          }
        : null,
      versions: versions.map((v) => ({
        version: v.version,
        type: v.kind,
        ...(v.kind === "regular"
          ? { sha256: v.blob ?? "", md5: v.md5, size: v.size }
          : { target: v.target_raw ?? "", linktime: v.linktime ?? v.updated }),
        updated: v.updated,
        replaced: v.replaced,
        reason: v.reason,
      })),
    };
  }
  throw new HubError(404, "source not found");
}
