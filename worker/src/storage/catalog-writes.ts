/**
 * Write statements of the catalog. Services combine them into one `db.batch([...])`, which D1 runs as a
 * single transaction: an operation changes all of its rows or none.
 */
import type { EntryKind } from "./rows";

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

/** Creates the repository if needed and marks it changed (its `updated` is what mirrors poll). */
export function touchRepository(db: D1Database, repository: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO repositories (name, created, updated) VALUES (?1, ?2, ?2)
       ON CONFLICT (name) DO UPDATE SET updated = excluded.updated`,
    )
    .bind(repository, now);
}

/**
 * Copies the current entry `name` (if any) into its history as the next version. Must run before the
 * statement that replaces or removes it, inside the same batch.
 */
export function archiveEntry(
  db: D1Database,
  repository: string,
  name: string,
  now: number,
  reason: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO entry_versions (repository, name, version, kind, blob, target_repository, target_name,
                                   target_raw, created, updated, linktime, replaced, reason)
       SELECT e.repository, e.name,
              COALESCE((SELECT MAX(v.version) FROM entry_versions v
                         WHERE v.repository = e.repository AND v.name = e.name), 0) + 1,
              e.kind, e.blob, e.target_repository, e.target_name, e.target_raw, e.created, e.updated,
              e.linktime, ?3, ?4
         FROM entries e WHERE e.repository = ?1 AND e.name = ?2`,
    )
    .bind(repository, name, now, reason);
}

/** Writes the entry, replacing whatever had that name (archive it first). */
export function putEntry(db: D1Database, entry: EntryWrite, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR REPLACE INTO entries (repository, name, kind, blob, target_repository, target_name, target_raw,
                                       created, updated, linktime)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`,
    )
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

export function deleteEntry(db: D1Database, repository: string, name: string): D1PreparedStatement {
  return db.prepare("DELETE FROM entries WHERE repository = ?1 AND name = ?2").bind(repository, name);
}

/** Renames an entry in place: a relative link keeps its target, times are kept (POSIX rename). */
export function renameEntry(db: D1Database, repository: string, from: string, to: string): D1PreparedStatement {
  return db.prepare("UPDATE entries SET name = ?3 WHERE repository = ?1 AND name = ?2").bind(repository, from, to);
}

export function insertBlob(
  db: D1Database,
  blob: {
    sha256: string;
    md5: string;
    size: number;
    counts: { regular: number; symlink: number; directory: number; special: number; failure: number; fullsize: number };
    metadata: string;
    blobKey: string;
    contentsKey: string;
  },
  now: number,
): D1PreparedStatement {
  // Content-addressed: the same bytes published twice are one row (first metadata wins, it is the same file).
  return db
    .prepare(
      `INSERT OR IGNORE INTO blobs (sha256, md5, size, regular, symlink, directory, special, failure, fullsize,
                                    metadata, blob_key, contents_key, created, touched)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)`,
    )
    .bind(
      blob.sha256,
      blob.md5,
      blob.size,
      blob.counts.regular,
      blob.counts.symlink,
      blob.counts.directory,
      blob.counts.special,
      blob.counts.failure,
      blob.counts.fullsize,
      blob.metadata,
      blob.blobKey,
      blob.contentsKey,
      now,
    );
}

/** Records a finished publish job; a second insert of the same id fails the whole batch (idempotency). */
export function insertPublishJob(
  db: D1Database,
  job: { jobId: string; repository: string; name: string; sha256: string; result: string },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO publish_jobs (job_id, repository, name, sha256, result, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(job.jobId, job.repository, job.name, job.sha256, job.result, now);
}

/** Creates the tag or marks it changed. */
export function touchTag(db: D1Database, repository: string, tag: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tags (repository, name, created, updated) VALUES (?1, ?2, ?3, ?3)
       ON CONFLICT (repository, name) DO UPDATE SET updated = excluded.updated`,
    )
    .bind(repository, tag, now);
}

export function putTagMember(
  db: D1Database,
  member: { repository: string; tag: string; name: string; targetRepository: string; targetName: string },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR REPLACE INTO tag_members (repository, tag, name, target_repository, target_name, linktime)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
    )
    .bind(member.repository, member.tag, member.name, member.targetRepository, member.targetName, now);
}

export function deleteTagMember(db: D1Database, repository: string, tag: string, name: string): D1PreparedStatement {
  return db
    .prepare("DELETE FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3")
    .bind(repository, tag, name);
}

/** Removes the tag if it has no member left (the original `rmdir`s the emptied tag directory). */
export function deleteTagIfEmpty(db: D1Database, repository: string, tag: string): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM tags WHERE repository = ?1 AND name = ?2
         AND NOT EXISTS (SELECT 1 FROM tag_members WHERE repository = ?1 AND tag = ?2)`,
    )
    .bind(repository, tag);
}

// ---- preconditions ---------------------------------------------------------------------------------

/**
 * Fails the batch unless `existsSql` (a SELECT) finds a row. Services check conditions first to answer
 * precise errors; these guards re-check inside the transaction, so a concurrent change between the check and
 * the write cannot slip through (e.g. a rename whose source was just deleted).
 */
export function expectRow(db: D1Database, existsSql: string, ...params: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO batch_guards (ok) SELECT EXISTS (${existsSql})`).bind(...params);
}

/** Fails the batch if `existsSql` finds a row. */
export function expectNoRow(db: D1Database, existsSql: string, ...params: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO batch_guards (ok) SELECT NOT EXISTS (${existsSql})`).bind(...params);
}

/** Last statement of a guarded batch: leaves `batch_guards` empty. */
export function clearGuards(db: D1Database): D1PreparedStatement {
  return db.prepare("DELETE FROM batch_guards");
}

export function isGuardFailure(err: unknown): boolean {
  return /CHECK constraint failed/.test(String(err)) && /ok = 1|batch_guards/.test(String(err));
}
