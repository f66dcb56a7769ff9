/**
 * Read queries of the catalog. Every per-repository query is bounded by the primary keys
 * (repository, name) / (repository, tag, name); only the whole-catalog listings (`/api/flist`,
 * `/api/fileslist`, `/api/repositories`) read every row, as their purpose is to list everything.
 */
import type { BlobRow, EntryRow, RepositoryRow, TagMemberRow, TagRow, VersionRow } from "./rows";

/** Maximum symlink hops, as Linux's MAXSYMLINKS: longer chains and loops do not resolve. */
export const MAX_LINK_HOPS = 40;

const ENTRY_COLUMNS =
  "repository, name, kind, blob, target_repository, target_name, target_raw, created, updated, linktime";

export async function getRepository(db: D1Database, name: string): Promise<RepositoryRow | null> {
  return db
    .prepare("SELECT name, created, updated FROM repositories WHERE name = ?1")
    .bind(name)
    .first<RepositoryRow>();
}

export async function getEntry(db: D1Database, repository: string, name: string): Promise<EntryRow | null> {
  return db
    .prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE repository = ?1 AND name = ?2`)
    .bind(repository, name)
    .first<EntryRow>();
}

export async function getBlob(db: D1Database, sha256: string): Promise<BlobRow | null> {
  return db.prepare("SELECT * FROM blobs WHERE sha256 = ?1").bind(sha256).first<BlobRow>();
}

export async function getTag(db: D1Database, repository: string, name: string): Promise<TagRow | null> {
  return db
    .prepare("SELECT repository, name, created, updated FROM tags WHERE repository = ?1 AND name = ?2")
    .bind(repository, name)
    .first<TagRow>();
}

export async function getTagMember(
  db: D1Database,
  repository: string,
  tag: string,
  name: string,
): Promise<TagMemberRow | null> {
  return db
    .prepare("SELECT * FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3")
    .bind(repository, tag, name)
    .first<TagMemberRow>();
}

const CHAIN_SQL = `WITH RECURSIVE chain(depth, ${ENTRY_COLUMNS}) AS (
         SELECT 0, ${ENTRY_COLUMNS} FROM entries WHERE repository = ?1 AND name = ?2
         UNION ALL
         SELECT c.depth + 1, e.repository, e.name, e.kind, e.blob, e.target_repository, e.target_name,
                e.target_raw, e.created, e.updated, e.linktime
           FROM chain c JOIN entries e ON e.repository = c.target_repository AND e.name = c.target_name
          WHERE c.kind = 'symlink' AND c.depth < ?3
       )
       SELECT c.*, b.sha256 AS b_sha256, b.md5 AS b_md5, b.size AS b_size, b.regular AS b_regular,
              b.symlink AS b_symlink, b.directory AS b_directory, b.special AS b_special, b.failure AS b_failure,
              b.fullsize AS b_fullsize, b.metadata AS b_metadata, b.blob_key AS b_blob_key,
              b.contents_key AS b_contents_key, b.created AS b_created
         FROM chain c LEFT JOIN blobs b ON b.sha256 = c.blob
        ORDER BY c.depth`;

/** A link chain as followed from its first entry; `blob` is set when the chain ends on a regular entry. */
export interface Chain {
  entries: EntryRow[];
  blob: BlobRow | null;
}

type ChainRow = EntryRow & { depth: number } & { [K in keyof BlobRow as `b_${K}`]: BlobRow[K] | null };

/**
 * Follows symlinks from (repository, name) in one recursive query, each step a primary-key lookup.
 * A loop stops at MAX_LINK_HOPS; a dangling link stops where the target is missing. An empty chain
 * means the first entry does not exist.
 */
export async function followChain(db: D1Database, repository: string, name: string): Promise<Chain> {
  const { results } = await db
    .prepare(CHAIN_SQL)
    .bind(repository, name, MAX_LINK_HOPS)
    .all<ChainRow>();
  const entries: EntryRow[] = results.map((r) => ({
    repository: r.repository,
    name: r.name,
    kind: r.kind,
    blob: r.blob,
    target_repository: r.target_repository,
    target_name: r.target_name,
    target_raw: r.target_raw,
    created: r.created,
    updated: r.updated,
    linktime: r.linktime,
  }));
  const last = results.at(-1);
  const blob: BlobRow | null =
    last && last.kind === "regular" && last.b_sha256
      ? {
          sha256: last.b_sha256,
          md5: last.b_md5!,
          size: last.b_size!,
          regular: last.b_regular!,
          symlink: last.b_symlink!,
          directory: last.b_directory!,
          special: last.b_special!,
          failure: last.b_failure!,
          fullsize: last.b_fullsize!,
          metadata: last.b_metadata!,
          blob_key: last.b_blob_key!,
          contents_key: last.b_contents_key!,
          created: last.b_created!,
        }
      : null;
  return { entries, blob };
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

/**
 * Recursive CTE following every link selected by `seed`, whose columns are
 * (repository, origin, depth, kind, blob, target_repository, target_name, updated).
 */
function resolveLinksSql(seed: string): string {
  return `WITH RECURSIVE chain(repository, origin, depth, kind, blob, target_repository, target_name, updated) AS (
      ${seed}
      UNION ALL
      SELECT c.repository, c.origin, c.depth + 1, e.kind, e.blob, e.target_repository, e.target_name, e.updated
        FROM chain c JOIN entries e ON e.repository = c.target_repository AND e.name = c.target_name
       WHERE c.kind = 'symlink' AND c.depth < ${MAX_LINK_HOPS}
    )
    SELECT c.repository, c.origin, c.updated, b.size FROM chain c JOIN blobs b ON b.sha256 = c.blob
     WHERE c.kind = 'regular'`;
}

/** The four listing queries, for one repository (`?1`) or, with `null`, for the whole catalog. */
function listingSql(oneRepository: boolean): Record<"entries" | "tags" | "resolved" | "taglinks", string> {
  // One repository: every query is a primary-key prefix scan. All repositories: full reads, on purpose.
  const where = (alias: string) => (oneRepository ? `${alias}.repository = ?1` : "1");
  return {
    entries: `SELECT e.repository, e.name, e.kind, e.target_raw, e.updated, e.linktime, b.size
                FROM entries e LEFT JOIN blobs b ON b.sha256 = e.blob WHERE ${where("e")}`,
    tags: `SELECT t.repository, t.name, t.created, t.updated FROM tags t WHERE ${where("t")}`,
    resolved: resolveLinksSql(
      `SELECT e.repository, e.name, 0, e.kind, e.blob, e.target_repository, e.target_name, e.updated
         FROM entries e WHERE ${where("e")} AND e.kind = 'symlink'`,
    ),
    taglinks: `SELECT e.repository, e.name, t.updated FROM entries e
                 JOIN tags t ON t.repository = e.target_repository AND t.name = e.target_name
                WHERE ${where("e")} AND e.kind = 'taglink'`,
  };
}

const REPOSITORY_LISTING_SQL = listingSql(true);
const CATALOG_LISTING_SQL = listingSql(false);

const TAG_MEMBERS_SQL = "SELECT * FROM tag_members WHERE repository = ?1 AND tag = ?2";
const TAG_RESOLVED_SQL = resolveLinksSql(
  `SELECT m.repository, m.name, 0, 'symlink', NULL, m.target_repository, m.target_name, m.linktime
     FROM tag_members m WHERE m.repository = ?1 AND m.tag = ?2`,
);

function listingStatements(db: D1Database, repository: string | null): D1PreparedStatement[] {
  const sql = repository === null ? CATALOG_LISTING_SQL : REPOSITORY_LISTING_SQL;
  return [sql.entries, sql.tags, sql.resolved, sql.taglinks].map((q) =>
    repository === null ? db.prepare(q) : db.prepare(q).bind(repository),
  );
}

/** Everything a repository listing needs, in one round trip; `null` lists every repository. */
export async function readListing(db: D1Database, repository: string | null): Promise<ListingRows> {
  const [entries, tags, resolved, taglinks] = await db.batch(listingStatements(db, repository));
  return {
    entries: (entries?.results ?? []) as ListedEntryRow[],
    tags: (tags?.results ?? []) as TagRow[],
    resolved: (resolved?.results ?? []) as ResolvedLinkRow[],
    taglinks: (taglinks?.results ?? []) as TaglinkTagRow[],
  };
}

export interface TagListingRows {
  members: TagMemberRow[];
  resolved: ResolvedLinkRow[];
}

export async function readTagListing(db: D1Database, repository: string, tag: string): Promise<TagListingRows> {
  const [members, resolved] = await db.batch([
    db.prepare(TAG_MEMBERS_SQL).bind(repository, tag),
    db.prepare(TAG_RESOLVED_SQL).bind(repository, tag),
  ]);
  return {
    members: (members?.results ?? []) as TagMemberRow[],
    resolved: (resolved?.results ?? []) as ResolvedLinkRow[],
  };
}

export async function listRepositories(db: D1Database): Promise<RepositoryRow[]> {
  const { results } = await db
    .prepare("SELECT name, created, updated FROM repositories ORDER BY name")
    .all<RepositoryRow>();
  return results;
}

/** `repo/entry` for every entry and `repo/.tag-<tag>` for every tag, like the original's directory walk. */
export async function listAllEntryPaths(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT repository, name FROM entries
       UNION ALL SELECT repository, '.tag-' || name FROM tags
       ORDER BY 1, 2`,
    )
    .all<{ repository: string; name: string }>();
  return results.map((r) => `${r.repository}/${r.name}`);
}

// ---- history ----------------------------------------------------------------------------------------

const VERSIONS_SQL = `SELECT v.*, b.md5, b.size FROM entry_versions v LEFT JOIN blobs b ON b.sha256 = v.blob
        WHERE v.repository = ?1 AND v.name = ?2 ORDER BY v.version DESC`;

export type VersionWithBlob = VersionRow & { md5: string | null; size: number | null };

export async function listVersions(db: D1Database, repository: string, name: string): Promise<VersionWithBlob[]> {
  const { results } = await db
    .prepare(VERSIONS_SQL)
    .bind(repository, name)
    .all<VersionWithBlob>();
  return results;
}

export async function getVersion(
  db: D1Database,
  repository: string,
  name: string,
  version: number,
): Promise<VersionRow | null> {
  return db
    .prepare("SELECT * FROM entry_versions WHERE repository = ?1 AND name = ?2 AND version = ?3")
    .bind(repository, name, version)
    .first<VersionRow>();
}

export async function getPublishJob(
  db: D1Database,
  jobId: string,
): Promise<{ job_id: string; result: string } | null> {
  return db.prepare("SELECT job_id, result FROM publish_jobs WHERE job_id = ?1").bind(jobId).first();
}

/**
 * The multi-row queries run on per-repository requests (listing, tag listing, link resolution, history), by
 * name. Exported so a test can check with EXPLAIN QUERY PLAN that none of them scans a whole table.
 */
export const PER_REPOSITORY_SQL: Record<string, string> = {
  chain: CHAIN_SQL,
  versions: VERSIONS_SQL,
  tagMembers: TAG_MEMBERS_SQL,
  tagResolved: TAG_RESOLVED_SQL,
  ...Object.fromEntries(Object.entries(REPOSITORY_LISTING_SQL).map(([k, v]) => [`listing.${k}`, v])),
};
