/**
 * Read side of the catalog: what the public API answers. Routes validate names and call these; errors are
 * HubErrors with the original's messages ("user not found", "source not found").
 */
import { officialRepositories, publicBackend } from "../config";
import type { Env } from "../env";
import { HubError } from "../http/errors";
import { buildListings, buildTagListing, type ListingEntry } from "./listing";
import { cleanTarget, stripFlist } from "../names";
import { byteLength } from "./format";
import type { CatalogStore } from "./store/catalog-store";
import type { BlobRow, Chain, EntryRow, RepositoryRow } from "./store/rows";

export async function requireRepository(store: CatalogStore, repository: string): Promise<RepositoryRow> {
  const row = await store.repository(repository);
  if (!row) throw new HubError(404, "user not found");
  return row;
}

/** An entry and what it resolves to (`blob` null: dangling, looping, or a taglink). */
export interface Resolved {
  entry: EntryRow;
  /** The regular entry at the end of the chain (the "file" the original's stat() saw). */
  file: EntryRow | null;
  blob: BlobRow | null;
}

function fromChain(chain: Chain): Resolved | null {
  const entry = chain.entries[0];
  if (!entry) return null;
  const last = chain.entries.at(-1)!;
  return chain.blob ? { entry, file: last, blob: chain.blob } : { entry, file: null, blob: null };
}

/**
 * Looks up `<repo>/<name>` (name already normalised) and follows its links, in one D1 round trip. 404 if repo or
 * entry is missing.
 */
export async function resolveEntry(store: CatalogStore, repository: string, name: string): Promise<Resolved> {
  const { repository: repo, rows: chain } = await store.resolve(repository, name);
  if (!repo) throw new HubError(404, "user not found");
  const resolved = fromChain(chain);
  if (!resolved) throw new HubError(404, "source not found");
  return resolved;
}

/** Like resolveEntry, but the entry must resolve to a flist (downloads, contents, metadata). */
export type ResolvedFlist = Resolved & { blob: BlobRow; file: EntryRow };

export async function resolveFlist(store: CatalogStore, repository: string, name: string): Promise<ResolvedFlist> {
  const resolved = await resolveEntry(store, repository, name);
  if (!resolved.blob || !resolved.file) throw new HubError(404, "source not found");
  return resolved as ResolvedFlist;
}

export async function repositoryListing(store: CatalogStore, repository: string): Promise<ListingEntry[]> {
  const { repository: repo, rows } = await store.repositoryListing(repository);
  if (!repo) throw new HubError(404, "user not found");
  return buildListings(rows).get(repository) ?? [];
}

export async function filesList(store: CatalogStore): Promise<Record<string, ListingEntry[]>> {
  const { repositories, rows } = await store.catalogListing();
  const listings = buildListings(rows);
  const out: Record<string, ListingEntry[]> = {};
  for (const r of repositories) out[r.name] = listings.get(r.name) ?? [];
  return out;
}

export async function repositoriesList(env: Env, store: CatalogStore): Promise<{ name: string; official: boolean; updated: number }[]> {
  const official = officialRepositories(env);
  const rows = await store.repositories();
  return rows.map((r) => ({ name: r.name, official: official.has(r.name), updated: r.updated }));
}

export function allEntryPaths(store: CatalogStore): Promise<string[]> {
  return store.entryPaths();
}

export async function tagListing(store: CatalogStore, repository: string, tag: string): Promise<ListingEntry[]> {
  const { repository: repo, tag: tagRow, rows } = await store.tagListingIn(repository, tag);
  if (!repo) throw new HubError(404, "user not found");
  if (!tagRow) throw new HubError(404, "tag not found");
  return buildTagListing(rows);
}

/**
 * `/light` (and `INFO`): `size` an int, `md5` of the resolved file (null when dangling or looping), and for
 * links `linktime` and the **raw** target. Times and size of a dangling link are the link's own.
 */
export async function lightInfo(store: CatalogStore, repository: string, name: string): Promise<Record<string, unknown>> {
  const { entry, file, blob } = await resolveEntry(store, repository, name);
  if (entry.kind === "regular") {
    return { name: entry.name, size: blob!.size, updated: entry.updated, type: "regular", md5: blob!.md5 };
  }
  if (entry.kind === "taglink") throw new HubError(404, "source not found");
  const raw = entry.target_raw ?? "";
  const linktime = entry.linktime ?? entry.updated;
  return {
    name: entry.name,
    size: blob ? blob.size : byteLength(raw),
    updated: file ? file.updated : linktime,
    linktime,
    type: "symlink",
    target: raw,
    md5: blob ? blob.md5 : null,
  };
}

/** `/taglink`: `{target: "repo/tags/tag"}` when `<name without .flist>` is a taglink. */
export async function taglinkTarget(store: CatalogStore, repository: string, name: string): Promise<{ target: string }> {
  const [repo, entry] = await Promise.all([store.repository(repository), store.entry(repository, stripFlist(name))]);
  if (!repo) throw new HubError(404, "user not found");
  if (!entry || entry.kind !== "taglink") throw new HubError(404, "source not found");
  return { target: cleanTarget(entry.target_raw ?? "") };
}

/** The contents listing stored at publish time (zflist `find` shape), as a JSON string straight from R2. */
export async function contentsListing(store: CatalogStore, repository: string, name: string): Promise<ReadableStream> {
  const { blob } = await resolveFlist(store, repository, name);
  const body = await store.contentsBody(blob);
  if (!body) throw new HubError(500, "contents listing missing from storage");
  return body;
}

/** Secrets a flist's backend may carry (zdb namespace password, 0-hub-gw token): never served. */
const SECRET_BACKEND_KEYS = ["password", "token"];

/**
 * `/metadata`: every metadata key of the flist. Adds `backend-forced` (the hub's public backend) when the
 * flist has no `backend`, as the original, and strips backend credentials (the original served them).
 */
export async function flistMetadata(env: Env, store: CatalogStore, repository: string, name: string): Promise<Record<string, unknown>> {
  const { blob } = await resolveFlist(store, repository, name);
  const metadata = JSON.parse(blob.metadata) as Record<string, unknown>;
  const backend = metadata.backend;
  if (backend && typeof backend === "object" && !Array.isArray(backend)) {
    const safe = { ...(backend as Record<string, unknown>) };
    for (const k of SECRET_BACKEND_KEYS) delete safe[k];
    metadata.backend = safe;
  } else if (!("backend" in metadata)) {
    const forced = publicBackend(env);
    if (forced) metadata["backend-forced"] = forced;
  }
  return metadata;
}
