/**
 * The catalog store over D1 (rows) and R2 (.flist bytes and contents listings): the one place with the catalog's
 * SQL. Every per-repository query is bounded by the primary keys (repository, name) / (repository, tag, name);
 * only the whole-catalog listings (`/api/flist`, `/api/fileslist`, `/api/repositories`) read every row, as their
 * purpose is to list everything. An operation's writes are one `db.batch([...])`, which D1 runs as a single
 * transaction: it changes all of its rows or none.
 *
 * R2 layout: every distinct .flist is stored once under its SHA-256, its contents listing and its entries' types
 * (when the publisher sent them) next to it. Entries,
 * links, promotes and renames only point at these keys (no byte is ever copied).
 */
import type { Env } from "../../env";
import { appendFinalEvent, markSucceeded } from "../../jobs/store";
import { purgingEdge } from "./edge-purge";
import type { CatalogChange, CatalogStore, EntryWrite, InRepository, LinkTarget, NewBlob, Publication } from "./catalog-store";
import type {
  BlobRow,
  Chain,
  EntryRow,
  GarbageBlob,
  ListedEntryRow,
  ListingRows,
  RepositoryCounts,
  RepositoryRow,
  ResolvedLinkRow,
  SearchRows,
  TaglinkTagRow,
  TagListingRows,
  TagMemberRow,
  TagRow,
  VersionRow,
  VersionWithBlob,
} from "./rows";

/**
 * The store of this request's (or cron run's) bindings. Its writes purge the edge cache entries they make stale
 * (edge-purge.ts), so no caller can forget to.
 */
export function catalogStore(
  env: Pick<Env, "DB" | "FLISTS"> & Partial<Pick<Env, "HUB_PUBLIC_URL" | "HUB_EDGE_CACHE_SECONDS" | "HUB_MEMORY_CACHE_MB">>,
): CatalogStore {
  return purgingEdge(new D1R2CatalogStore(env.DB, env.FLISTS), env);
}

function blobKey(sha256: string): string {
  return `blobs/${sha256}`;
}

function contentsKey(sha256: string): string {
  return `blobs/${sha256}.contents.json`;
}

/** The entries' types beside the listing (protocol/publish.ts `entryTypesSchema`); absent for older publishes. */
function entriesKey(sha256: string): string {
  return `blobs/${sha256}.entries.json`;
}

// ---- read queries -----------------------------------------------------------------------------------

/** Maximum symlink hops, as Linux's MAXSYMLINKS: longer chains and loops do not resolve. */
export const MAX_LINK_HOPS = 40;

const ENTRY_COLUMNS =
  "repository, name, kind, blob, target_repository, target_name, target_raw, created, updated, linktime";

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

type ChainRow = EntryRow & { depth: number } & { [K in keyof BlobRow as `b_${K}`]: BlobRow[K] | null };

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

const VERSIONS_SQL = `SELECT v.*, b.md5, b.size FROM entry_versions v LEFT JOIN blobs b ON b.sha256 = v.blob
        WHERE v.repository = ?1 AND v.name = ?2 ORDER BY v.version DESC`;

/**
 * The links that lead to one of the seeds (JSON `[[repository, name, kind], …]`): entries pointing at a seed with
 * the seed's kind, then symlinks pointing at those, transitively (UNION stops at loops). Each step is a lookup on
 * entries_by_target (migrations/0011_edge.sql), so a purge reads the links it finds, not the catalog. Links past the
 * LIMIT (a fan-in no real catalog has) are not purged and fall back to the edge cache's TTL.
 */
const LINKS_INTO_SQL = `WITH RECURSIVE
    seeds(repository, name, kind) AS (
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?1)),
    deps(repository, name, kind) AS (
      SELECT e.repository, e.name, e.kind FROM seeds s
        JOIN entries e ON e.target_repository = s.repository AND e.target_name = s.name AND e.kind = s.kind
      UNION
      SELECT e.repository, e.name, e.kind FROM deps d
        JOIN entries e ON e.target_repository = d.repository AND e.target_name = d.name AND e.kind = 'symlink'
       WHERE d.kind = 'symlink')
  SELECT repository, name, kind FROM deps LIMIT 10000`;

/**
 * The multi-row queries run on per-repository requests (listing, tag listing, link resolution, history), by
 * name. Exported so a test can check with EXPLAIN QUERY PLAN that none of them scans a whole table.
 */
export const PER_REPOSITORY_SQL: Record<string, string> = {
  chain: CHAIN_SQL,
  versions: VERSIONS_SQL,
  tagMembers: TAG_MEMBERS_SQL,
  tagResolved: TAG_RESOLVED_SQL,
  linksInto: LINKS_INTO_SQL,
  ...Object.fromEntries(Object.entries(REPOSITORY_LISTING_SQL).map(([k, v]) => [`listing.${k}`, v])),
};

// ---- search and site counts (migrations/0005_search.sql explains the index) -------------------------

const SEARCH_REPOSITORIES_SQL = `SELECT name, updated FROM repositories WHERE name LIKE ?1 ESCAPE '\\' ORDER BY name LIMIT ?2`;
const SEARCH_NAMES_SQL = `SELECT repository, name, kind, updated FROM entries
                    WHERE name LIKE ?1 ESCAPE '\\' OR (repository || '/' || name) LIKE ?1 ESCAPE '\\'
                    ORDER BY updated DESC LIMIT ?2`;
const SEARCH_READMES_SQL = `WITH hits AS (
    SELECT r.sha256, snippet(search_readmes_fts, 0, char(1), char(2), '…', 16) AS snippet, f.rank AS rank
      FROM search_readmes_fts f JOIN search_readmes r ON r.id = f.rowid
     WHERE search_readmes_fts MATCH ?1 ORDER BY f.rank LIMIT ?2)
  SELECT e.repository, e.name, e.kind, e.updated, h.snippet
    FROM hits h JOIN entries e ON e.blob = h.sha256 AND e.kind = 'regular'
   ORDER BY h.rank, e.updated DESC LIMIT ?2`;

// ---- retention (catalog/retention.ts decides when) --------------------------------------------------

/**
 * A blob is garbage when no entry and no kept version refers to it and nothing touched it within the grace period
 * (migrations/0010_blob_gc.sql says why the grace exists). Only the blobs of versions just pruned are examined: a
 * blob loses its last reference only that way (every other change that drops an entry keeps it as a version), so
 * the collector never scans the catalog.
 */
const UNREFERENCED = `NOT EXISTS (SELECT 1 FROM entries e WHERE e.blob = blobs.sha256)
                  AND NOT EXISTS (SELECT 1 FROM entry_versions v WHERE v.blob = blobs.sha256)`;

/** Deletes the row of ?1 if no entry or version refers to it and it was not touched since ?2 (the plan test reads it). */
export const DELETE_GARBAGE_SQL = `DELETE FROM blobs WHERE sha256 = ?1 AND touched < ?2 AND ${UNREFERENCED}
                                   RETURNING sha256, blob_key, contents_key`;

// ---- write statements -------------------------------------------------------------------------------

const ARCHIVE_SQL = `INSERT INTO entry_versions (repository, name, version, kind, blob, target_repository, target_name,
                                   target_raw, created, updated, linktime, replaced, reason)
       SELECT e.repository, e.name,
              COALESCE((SELECT MAX(v.version) FROM entry_versions v
                         WHERE v.repository = e.repository AND v.name = e.name), 0) + 1,
              e.kind, e.blob, e.target_repository, e.target_name, e.target_raw, e.created, e.updated,
              e.linktime, ?3, ?4
         FROM entries e WHERE e.repository = ?1 AND e.name = ?2`;

const PUT_ENTRY_SQL = `INSERT OR REPLACE INTO entries (repository, name, kind, blob, target_repository, target_name, target_raw,
                                       created, updated, linktime)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`;

const INSERT_BLOB_SQL = `INSERT OR IGNORE INTO blobs (sha256, md5, size, regular, symlink, directory, special, failure, fullsize,
                                    metadata, blob_key, contents_key, created, touched)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)`;

const ENTRY_EXISTS = "SELECT 1 FROM entries WHERE repository = ?1 AND name = ?2";
const FLIST_EXISTS = "SELECT 1 FROM entries WHERE repository = ?1 AND name = ?2 AND kind = 'regular'";

function putEntry(db: D1Database, entry: EntryWrite, now: number): D1PreparedStatement {
  return db
    .prepare(PUT_ENTRY_SQL)
    .bind(
      entry.repository,
      entry.name,
      entry.kind,
      entry.blob ?? null,
      entry.targetRepository ?? null,
      entry.targetName ?? null,
      entry.targetRaw ?? null,
      now,
      entry.updated,
      entry.linktime ?? null,
    );
}

/** Fails the batch unless `existsSql` (a SELECT) finds a row (`batch_guards` only accepts ok = 1). */
function expectRow(db: D1Database, existsSql: string, ...params: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO batch_guards (ok) SELECT EXISTS (${existsSql})`).bind(...params);
}

/** Fails the batch if `existsSql` finds a row. */
function expectNoRow(db: D1Database, existsSql: string, ...params: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO batch_guards (ok) SELECT NOT EXISTS (${existsSql})`).bind(...params);
}

/** Last statement of a guarded batch: leaves `batch_guards` empty. */
function clearGuards(db: D1Database): D1PreparedStatement {
  return db.prepare("DELETE FROM batch_guards");
}

function isGuardFailure(err: unknown): boolean {
  return /CHECK constraint failed/.test(String(err)) && /ok = 1|batch_guards/.test(String(err));
}

/** The D1 statement of one change. */
function statementOf(db: D1Database, change: CatalogChange, now: number): D1PreparedStatement {
  switch (change.op) {
    case "expectEntry":
    case "expectNoEntry": {
      const expect = change.op === "expectEntry" ? expectRow : expectNoRow;
      return expect(db, change.regular ? FLIST_EXISTS : ENTRY_EXISTS, change.repository, change.name);
    }
    case "expectTag":
      return expectRow(db, "SELECT 1 FROM tags WHERE repository = ?1 AND name = ?2", change.repository, change.tag);
    case "expectTagMember":
      return expectRow(
        db,
        `SELECT 1 FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3
            AND target_repository = ?4 AND target_name = ?5`,
        change.repository,
        change.tag,
        change.name,
        change.targetRepository,
        change.targetName,
      );
    case "expectVersion":
      return expectRow(
        db,
        "SELECT 1 FROM entry_versions WHERE repository = ?1 AND name = ?2 AND version = ?3",
        change.repository,
        change.name,
        change.version,
      );
    case "archive":
      return db.prepare(ARCHIVE_SQL).bind(change.repository, change.name, now, change.reason);
    case "putEntry":
      return putEntry(db, change.entry, now);
    case "deleteEntry":
      return db.prepare("DELETE FROM entries WHERE repository = ?1 AND name = ?2").bind(change.repository, change.name);
    case "renameEntry":
      return db
        .prepare("UPDATE entries SET name = ?3 WHERE repository = ?1 AND name = ?2")
        .bind(change.repository, change.from, change.to);
    case "touchRepository":
      return db
        .prepare(
          `INSERT INTO repositories (name, created, updated) VALUES (?1, ?2, ?2)
           ON CONFLICT (name) DO UPDATE SET updated = excluded.updated`,
        )
        .bind(change.repository, now);
    case "touchTag":
      return db
        .prepare(
          `INSERT INTO tags (repository, name, created, updated) VALUES (?1, ?2, ?3, ?3)
           ON CONFLICT (repository, name) DO UPDATE SET updated = excluded.updated`,
        )
        .bind(change.repository, change.tag, now);
    case "putTagMember":
      return db
        .prepare(
          `INSERT OR REPLACE INTO tag_members (repository, tag, name, target_repository, target_name, linktime)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
        )
        .bind(change.repository, change.tag, change.name, change.targetRepository, change.targetName, now);
    case "deleteTagMember":
      return db
        .prepare("DELETE FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3")
        .bind(change.repository, change.tag, change.name);
    case "deleteTagIfEmpty":
      return db
        .prepare(
          `DELETE FROM tags WHERE repository = ?1 AND name = ?2
             AND NOT EXISTS (SELECT 1 FROM tag_members WHERE repository = ?1 AND tag = ?2)`,
        )
        .bind(change.repository, change.tag);
  }
}

function insertBlob(db: D1Database, blob: NewBlob, now: number): D1PreparedStatement {
  const c = blob.counts;
  return db
    .prepare(INSERT_BLOB_SQL)
    .bind(
      ...[blob.sha256, blob.md5, blob.size],
      ...[c.regular, c.symlink, c.directory, c.special, c.failure, c.fullsize],
      ...[blob.metadata, blobKey(blob.sha256), contentsKey(blob.sha256), now],
    );
}

function chainOf(results: ChainRow[]): Chain {
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

function firstRow<T>(result: D1Result | undefined): T | null {
  return ((result?.results ?? [])[0] as T | undefined) ?? null;
}

function listingOf([entries, tags, resolved, taglinks]: D1Result[]): ListingRows {
  return {
    entries: (entries?.results ?? []) as ListedEntryRow[],
    tags: (tags?.results ?? []) as TagRow[],
    resolved: (resolved?.results ?? []) as ResolvedLinkRow[],
    taglinks: (taglinks?.results ?? []) as TaglinkTagRow[],
  };
}

// ---- the store --------------------------------------------------------------------------------------

class D1R2CatalogStore implements CatalogStore {
  constructor(
    private readonly db: D1Database,
    private readonly bucket: R2Bucket,
  ) {}

  repository(name: string): Promise<RepositoryRow | null> {
    return this.db.prepare("SELECT name, created, updated FROM repositories WHERE name = ?1").bind(name).first<RepositoryRow>();
  }

  async repositories(): Promise<RepositoryRow[]> {
    const { results } = await this.db.prepare("SELECT name, created, updated FROM repositories ORDER BY name").all<RepositoryRow>();
    return results;
  }

  entry(repository: string, name: string): Promise<EntryRow | null> {
    return this.db
      .prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE repository = ?1 AND name = ?2`)
      .bind(repository, name)
      .first<EntryRow>();
  }

  blob(sha256: string): Promise<BlobRow | null> {
    return this.db.prepare("SELECT * FROM blobs WHERE sha256 = ?1").bind(sha256).first<BlobRow>();
  }

  tag(repository: string, name: string): Promise<TagRow | null> {
    return this.db
      .prepare("SELECT repository, name, created, updated FROM tags WHERE repository = ?1 AND name = ?2")
      .bind(repository, name)
      .first<TagRow>();
  }

  tagMember(repository: string, tag: string, name: string): Promise<TagMemberRow | null> {
    return this.db
      .prepare("SELECT * FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3")
      .bind(repository, tag, name)
      .first<TagMemberRow>();
  }

  /** One recursive query (CHAIN_SQL). */
  async followChain(repository: string, name: string): Promise<Chain> {
    const { results } = await this.chainStatement(repository, name).all<ChainRow>();
    return chainOf(results);
  }

  private chainStatement(repository: string, name: string): D1PreparedStatement {
    return this.db.prepare(CHAIN_SQL).bind(repository, name, MAX_LINK_HOPS);
  }

  private repositoryStatement(name: string): D1PreparedStatement {
    return this.db.prepare("SELECT name, created, updated FROM repositories WHERE name = ?1").bind(name);
  }

  async resolve(repository: string, name: string): Promise<InRepository<Chain>> {
    const [repo, chain] = await this.db.batch([this.repositoryStatement(repository), this.chainStatement(repository, name)]);
    return { repository: firstRow<RepositoryRow>(repo), rows: chainOf((chain?.results ?? []) as ChainRow[]) };
  }

  private listingStatements(repository: string | null): D1PreparedStatement[] {
    const sql = repository === null ? CATALOG_LISTING_SQL : REPOSITORY_LISTING_SQL;
    return [sql.entries, sql.tags, sql.resolved, sql.taglinks].map((q) =>
      repository === null ? this.db.prepare(q) : this.db.prepare(q).bind(repository),
    );
  }

  async listing(repository: string | null): Promise<ListingRows> {
    return listingOf(await this.db.batch(this.listingStatements(repository)));
  }

  async repositoryListing(repository: string): Promise<InRepository<ListingRows>> {
    const [repo, ...rest] = await this.db.batch([this.repositoryStatement(repository), ...this.listingStatements(repository)]);
    return { repository: firstRow<RepositoryRow>(repo), rows: listingOf(rest) };
  }

  async catalogListing(): Promise<{ repositories: RepositoryRow[]; rows: ListingRows }> {
    const [repos, ...rest] = await this.db.batch([
      this.db.prepare("SELECT name, created, updated FROM repositories ORDER BY name"),
      ...this.listingStatements(null),
    ]);
    return { repositories: (repos?.results ?? []) as RepositoryRow[], rows: listingOf(rest) };
  }

  async tagListingIn(repository: string, tag: string): Promise<InRepository<TagListingRows> & { tag: TagRow | null }> {
    const [repo, tagRow, members, resolved] = await this.db.batch([
      this.repositoryStatement(repository),
      this.db.prepare("SELECT repository, name, created, updated FROM tags WHERE repository = ?1 AND name = ?2").bind(repository, tag),
      this.db.prepare(TAG_MEMBERS_SQL).bind(repository, tag),
      this.db.prepare(TAG_RESOLVED_SQL).bind(repository, tag),
    ]);
    return {
      repository: firstRow<RepositoryRow>(repo),
      tag: firstRow<TagRow>(tagRow),
      rows: { members: (members?.results ?? []) as TagMemberRow[], resolved: (resolved?.results ?? []) as ResolvedLinkRow[] },
    };
  }

  async linksInto(targets: LinkTarget[]): Promise<LinkTarget[]> {
    const seeds = JSON.stringify(targets.map((t) => [t.repository, t.name, t.kind]));
    const { results } = await this.db.prepare(LINKS_INTO_SQL).bind(seeds).all<LinkTarget>();
    return results;
  }

  async tagListing(repository: string, tag: string): Promise<TagListingRows> {
    const [members, resolved] = await this.db.batch([
      this.db.prepare(TAG_MEMBERS_SQL).bind(repository, tag),
      this.db.prepare(TAG_RESOLVED_SQL).bind(repository, tag),
    ]);
    return {
      members: (members?.results ?? []) as TagMemberRow[],
      resolved: (resolved?.results ?? []) as ResolvedLinkRow[],
    };
  }

  async entryPaths(): Promise<string[]> {
    const { results } = await this.db
      .prepare(
        `SELECT repository, name FROM entries
         UNION ALL SELECT repository, '.tag-' || name FROM tags
         ORDER BY 1, 2`,
      )
      .all<{ repository: string; name: string }>();
    return results.map((r) => `${r.repository}/${r.name}`);
  }

  /** One grouped pass over `entries` (its primary key starts with the repository). */
  async repositoryCounts(): Promise<Map<string, RepositoryCounts>> {
    const { results } = await this.db
      .prepare(
        `SELECT repository, SUM(kind = 'regular') AS flists, SUM(kind <> 'regular') AS links
           FROM entries GROUP BY repository`,
      )
      .all<{ repository: string; flists: number; links: number }>();
    return new Map(results.map((r) => [r.repository, { flists: r.flists, links: r.links }]));
  }

  async search(like: string, fts: string | null, limit: number): Promise<SearchRows> {
    const db = this.db;
    const statements = [
      db.prepare(SEARCH_REPOSITORIES_SQL).bind(like, limit),
      db.prepare(SEARCH_NAMES_SQL).bind(like, limit),
      ...(fts ? [db.prepare(SEARCH_READMES_SQL).bind(fts, limit)] : []),
    ];
    const [repositories, names, readmes] = await db.batch(statements);
    return {
      repositories: (repositories?.results ?? []) as SearchRows["repositories"],
      names: (names?.results ?? []) as SearchRows["names"],
      readmes: (readmes?.results ?? []) as SearchRows["readmes"],
    };
  }

  async versions(repository: string, name: string): Promise<VersionWithBlob[]> {
    const { results } = await this.db.prepare(VERSIONS_SQL).bind(repository, name).all<VersionWithBlob>();
    return results;
  }

  version(repository: string, name: string, version: number): Promise<VersionRow | null> {
    return this.db
      .prepare("SELECT * FROM entry_versions WHERE repository = ?1 AND name = ?2 AND version = ?3")
      .bind(repository, name, version)
      .first<VersionRow>();
  }

  publishedJob(jobId: string): Promise<{ job_id: string; result: string } | null> {
    return this.db.prepare("SELECT job_id, result FROM publish_jobs WHERE job_id = ?1").bind(jobId).first();
  }

  async commit(changes: CatalogChange[], now: number): Promise<"committed" | "conflict"> {
    try {
      await this.db.batch([...changes.map((c) => statementOf(this.db, c, now)), clearGuards(this.db)]);
      return "committed";
    } catch (err) {
      if (isGuardFailure(err)) return "conflict";
      throw err;
    }
  }

  async publish(p: Publication, now: number): Promise<"published" | "duplicate" | "stale"> {
    const db = this.db;
    const statements = [insertBlob(db, p.blob, now), ...p.changes.map((c) => statementOf(db, c, now))];
    if (p.record) {
      // A second insert of the same job id fails the whole batch.
      const r = p.record;
      statements.push(
        db
          .prepare("INSERT INTO publish_jobs (job_id, repository, name, sha256, result, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
          .bind(r.jobId, r.repository, r.name, r.sha256, r.result, now),
      );
    }
    if (p.job) {
      const { id, attempt } = p.job;
      statements.unshift(expectRow(db, "SELECT 1 FROM jobs WHERE id = ?1 AND status = 'running' AND attempts = ?2", id, attempt));
      statements.push(
        markSucceeded(db, { id, attempt }, p.job.result, now),
        appendFinalEvent(db, id, "succeeded", p.job.event, now),
        clearGuards(db),
      );
    }
    try {
      await db.batch(statements);
      return "published";
    } catch (err) {
      if (p.record && /UNIQUE constraint failed: publish_jobs/.test(String(err))) return "duplicate";
      if (p.record && isGuardFailure(err)) return "stale";
      throw err;
    }
  }

  async putFlist(sha256: string, md5: string, body: Blob): Promise<void> {
    await this.bucket.put(blobKey(sha256), body, { md5, httpMetadata: { contentType: "application/octet-stream" } });
  }

  async putContents(sha256: string, listingJson: string): Promise<void> {
    await this.bucket.put(contentsKey(sha256), listingJson, { httpMetadata: { contentType: "application/json" } });
  }

  async putEntryTypes(sha256: string, entriesJson: string): Promise<void> {
    await this.bucket.put(entriesKey(sha256), entriesJson, { httpMetadata: { contentType: "application/json" } });
  }

  async entryTypesJson(sha256: string): Promise<unknown | null> {
    const object = await this.bucket.get(entriesKey(sha256));
    return object ? ((await object.json()) as unknown) : null;
  }

  async hasObjects(sha256: string): Promise<boolean> {
    const [blob, contents] = await Promise.all([this.bucket.head(blobKey(sha256)), this.bucket.head(contentsKey(sha256))]);
    return blob !== null && contents !== null;
  }

  async flistBody(blob: Pick<BlobRow, "blob_key">, range?: { offset: number; length: number }): Promise<ReadableStream | null> {
    const object = await this.bucket.get(blob.blob_key, range ? { range } : undefined);
    return object?.body ?? null;
  }

  async contentsBody(blob: Pick<BlobRow, "contents_key">): Promise<ReadableStream | null> {
    return (await this.bucket.get(blob.contents_key))?.body ?? null;
  }

  async contentsJson(sha256: string): Promise<unknown | null> {
    const object = await this.bucket.get(contentsKey(sha256));
    return object ? ((await object.json()) as unknown) : null;
  }

  async touchBlob(sha256: string, now: number): Promise<void> {
    await this.db.prepare("UPDATE blobs SET touched = ?2 WHERE sha256 = ?1 AND touched < ?2").bind(sha256, now).run();
  }

  async pruneVersions(before: number, limit: number): Promise<{ versions: number; blobs: string[] }> {
    const { results } = await this.db
      .prepare(
        `DELETE FROM entry_versions WHERE (repository, name, version) IN
           (SELECT repository, name, version FROM entry_versions WHERE replaced < ?1 LIMIT ?2)
         RETURNING blob`,
      )
      .bind(before, limit)
      .all<{ blob: string | null }>();
    const blobs = new Set(results.map((r) => r.blob).filter((b): b is string => b !== null));
    return { versions: results.length, blobs: [...blobs] };
  }

  deleteGarbageBlob(sha256: string, touchedBefore: number): Promise<GarbageBlob | null> {
    return this.db.prepare(DELETE_GARBAGE_SQL).bind(sha256, touchedBefore).first<GarbageBlob>();
  }

  async deleteObjects(garbage: GarbageBlob): Promise<void> {
    await this.bucket.delete([garbage.blob_key, garbage.contents_key, entriesKey(garbage.sha256)]);
  }
}
