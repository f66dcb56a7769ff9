/**
 * D1 storage of resumable uploads (migrations/0003_jobs.sql `upload_sessions`, `upload_parts`). R2's Workers
 * binding cannot list the parts of a multipart upload, so the received parts are recorded here. State changes are
 * conditional on the session still being `open`, so a complete and an abort racing cannot both win.
 */

export type SessionStatus = "open" | "completed" | "aborted";

export interface SessionRow {
  id: string;
  user: string;
  repository: string;
  name: string;
  r2_key: string;
  r2_upload_id: string;
  params: string;
  part_size: number;
  status: SessionStatus;
  created: number;
  updated: number;
}

export interface PartRow {
  part_number: number;
  etag: string;
  size: number;
}

export async function getSession(db: D1Database, id: string): Promise<SessionRow | null> {
  return db.prepare("SELECT * FROM upload_sessions WHERE id = ?1").bind(id).first<SessionRow>();
}

export async function insertSession(db: D1Database, s: Omit<SessionRow, "status" | "updated">): Promise<void> {
  await db
    .prepare(
      `INSERT INTO upload_sessions (id, user, repository, name, r2_key, r2_upload_id, params, part_size, status,
                                    created, updated)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9, ?9)`,
    )
    .bind(s.id, s.user, s.repository, s.name, s.r2_key, s.r2_upload_id, s.params, s.part_size, s.created)
    .run();
}

export async function listParts(db: D1Database, id: string): Promise<PartRow[]> {
  const { results } = await db
    .prepare("SELECT part_number, etag, size FROM upload_parts WHERE upload_id = ?1 ORDER BY part_number")
    .bind(id)
    .all<PartRow>();
  return results;
}

/** Records a received part (a re-sent part replaces the previous one) and touches the session. */
export async function putPart(db: D1Database, id: string, part: PartRow, now: number): Promise<void> {
  await db.batch([
    db
      .prepare(
        "INSERT OR REPLACE INTO upload_parts (upload_id, part_number, etag, size, created) VALUES (?1, ?2, ?3, ?4, ?5)",
      )
      .bind(id, part.part_number, part.etag, part.size, now),
    db.prepare("UPDATE upload_sessions SET updated = ?2 WHERE id = ?1").bind(id, now),
  ]);
}

/** open → completed; false when the session was not open any more (another complete or an abort won). */
export async function markCompleted(db: D1Database, id: string, now: number): Promise<boolean> {
  const res = await db
    .prepare("UPDATE upload_sessions SET status = 'completed', updated = ?2 WHERE id = ?1 AND status = 'open'")
    .bind(id, now)
    .run();
  return res.meta.changes === 1;
}

/** open → aborted, and its parts forgotten. */
export async function markAborted(db: D1Database, id: string, now: number): Promise<void> {
  await db.batch([
    db
      .prepare("UPDATE upload_sessions SET status = 'aborted', updated = ?2 WHERE id = ?1 AND status = 'open'")
      .bind(id, now),
    deleteParts(db, id),
  ]);
}

export function deleteParts(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM upload_parts WHERE upload_id = ?1").bind(id);
}

/** Open sessions untouched since `before`, oldest first. */
export async function abandonedSessions(db: D1Database, before: number, limit: number): Promise<SessionRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM upload_sessions WHERE status = 'open' AND updated < ?1 ORDER BY updated LIMIT ?2")
    .bind(before, limit)
    .all<SessionRow>();
  return results;
}
