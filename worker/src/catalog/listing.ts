/**
 * Builds the original hub's listing objects (docs/compatibility.md §3.3) from catalog rows. Pure functions: the
 * exact field names, order and types are what Zero-OS nodes parse (strict serde), so they live in one place.
 */
import type { ListingRows, ResolvedLinkRow, TagListingRows } from "./store/rows";
import { byteLength, DIRECTORY_SIZE, kbString, TAG_SIZE } from "./format";
import { cleanTarget, compareNames, rawTarget, tagDirName } from "../names";

export type ListingEntry =
  | { name: string; size: string; updated: number; type: "regular" }
  | { name: string; size: string; updated: number; linktime: number; type: "symlink" | "taglink"; target: string }
  | { name: string; size: string; updated: number; type: "tag" };

const key = (repository: string, name: string) => `${repository}\u0000${name}`;

function indexResolved(rows: ResolvedLinkRow[]): Map<string, ResolvedLinkRow> {
  return new Map(rows.map((r) => [key(r.repository, r.origin), r]));
}

/**
 * Listing objects grouped by repository, each group sorted as the original's `sorted(os.listdir())`.
 * Links show the size and time of what they resolve to, or, when dangling or looping, their own
 * (`lstat`: size = length of the target string, time = when the link was written).
 */
export function buildListings(rows: ListingRows): Map<string, ListingEntry[]> {
  const resolved = indexResolved(rows.resolved);
  const tagTimes = new Map(rows.taglinks.map((t) => [key(t.repository, t.name), t.updated]));
  const sorted = new Map<string, { sortKey: string; entry: ListingEntry }[]>();
  const add = (repository: string, sortKey: string, entry: ListingEntry) => {
    let list = sorted.get(repository);
    if (!list) sorted.set(repository, (list = []));
    list.push({ sortKey, entry });
  };

  for (const e of rows.entries) {
    if (e.kind === "regular") {
      add(e.repository, e.name, { name: e.name, size: kbString(e.size ?? 0), updated: e.updated, type: "regular" });
      continue;
    }
    const raw = e.target_raw ?? "";
    const linktime = e.linktime ?? e.updated;
    let size = byteLength(raw);
    let updated = linktime;
    if (e.kind === "symlink") {
      const target = resolved.get(key(e.repository, e.name));
      if (target) ({ size, updated } = target);
    } else {
      const tagUpdated = tagTimes.get(key(e.repository, e.name));
      if (tagUpdated !== undefined) [size, updated] = [DIRECTORY_SIZE, tagUpdated];
    }
    add(e.repository, e.name, {
      name: e.name,
      size: kbString(size),
      updated,
      linktime,
      type: e.kind,
      target: cleanTarget(raw),
    });
  }
  for (const t of rows.tags) {
    add(t.repository, tagDirName(t.name), { name: t.name, size: TAG_SIZE, updated: t.updated, type: "tag" });
  }

  const out = new Map<string, ListingEntry[]>();
  for (const [repository, list] of sorted) {
    list.sort((a, b) => compareNames(a.sortKey, b.sortKey));
    out.set(
      repository,
      list.map((x) => x.entry),
    );
  }
  return out;
}

/** Members of a tag: always `type: "symlink"`, target cleaned to `repo/name.flist` (zos downloads `<hub>/<target>`). */
export function buildTagListing(rows: TagListingRows): ListingEntry[] {
  const resolved = indexResolved(rows.resolved);
  return [...rows.members]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((m) => {
      const raw = rawTarget.tagMember(m.target_repository, m.target_name);
      const target = resolved.get(key(m.repository, m.name));
      return {
        name: m.name,
        size: kbString(target ? target.size : byteLength(raw)),
        updated: target ? target.updated : m.linktime,
        linktime: m.linktime,
        type: "symlink" as const,
        target: cleanTarget(raw),
      };
    });
}
