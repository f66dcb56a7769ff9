/**
 * D1 statements of history retention and blob garbage collection (services/retention.ts decides when). A blob is
 * garbage when no entry and no kept version refers to it and nothing touched it within the grace period
 * (migrations/0010_blob_gc.sql says why the grace exists). Only the blobs of versions just pruned are examined:
 * a blob loses its last reference only that way (every other change that drops an entry keeps it as a version),
 * so the collector never scans the catalog.
 */

const UNREFERENCED = `NOT EXISTS (SELECT 1 FROM entries e WHERE e.blob = blobs.sha256)
                  AND NOT EXISTS (SELECT 1 FROM entry_versions v WHERE v.blob = blobs.sha256)`;

/** Deletes the row of ?1 if no entry or version refers to it and it was not touched since ?2 (the plan test reads it). */
export const DELETE_GARBAGE_SQL = `DELETE FROM blobs WHERE sha256 = ?1 AND touched < ?2 AND ${UNREFERENCED}
                                   RETURNING blob_key, contents_key`;

export interface GarbageBlob {
  blob_key: string;
  contents_key: string;
}

/** Marks `sha256` as about to be referenced (a publish reusing it): the collector leaves it alone for the grace. */
export function touchBlob(db: D1Database, sha256: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE blobs SET touched = ?2 WHERE sha256 = ?1 AND touched < ?2").bind(sha256, now);
}

/** Deletes up to `limit` versions replaced before `before`; answers the blobs they referred to (distinct). */
export async function pruneVersions(db: D1Database, before: number, limit: number): Promise<{ versions: number; blobs: string[] }> {
  const { results } = await db
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

/**
 * Deletes the row of `sha256` if it is garbage now, in one statement (a reference or a touch that arrived since
 * keeps it), and answers its R2 keys when it went: only then may its objects be deleted.
 */
export async function deleteGarbageBlob(db: D1Database, sha256: string, touchedBefore: number): Promise<GarbageBlob | null> {
  return db.prepare(DELETE_GARBAGE_SQL).bind(sha256, touchedBefore).first<GarbageBlob>();
}
