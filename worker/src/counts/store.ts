/**
 * The download_counts table (migrations/0012_download_counts.sql): the consumer's batched upsert and the reads of
 * the pages and the API.
 */

/** One statement for a whole batch: `?1` is JSON `[[repository, name, count], …]`, one row per flist. */
const ADD_SQL = `INSERT INTO download_counts (repository, name, count)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?1) WHERE 1
    ON CONFLICT (repository, name) DO UPDATE SET count = count + excluded.count`;

export async function addDownloads(db: D1Database, counts: Map<string, { repository: string; name: string; count: number }>): Promise<void> {
  if (counts.size === 0) return;
  const rows = [...counts.values()].map((c) => [c.repository, c.name, c.count]);
  await db.prepare(ADD_SQL).bind(JSON.stringify(rows)).run();
}

export async function downloadCount(db: D1Database, repository: string, name: string): Promise<number> {
  const row = await db
    .prepare("SELECT count FROM download_counts WHERE repository = ?1 AND name = ?2")
    .bind(repository, name)
    .first<{ count: number }>();
  return row?.count ?? 0;
}

/** Every counted flist of a repository: a primary-key prefix scan. */
export async function repositoryDownloads(db: D1Database, repository: string): Promise<Map<string, number>> {
  const { results } = await db
    .prepare("SELECT name, count FROM download_counts WHERE repository = ?1")
    .bind(repository)
    .all<{ name: string; count: number }>();
  return new Map(results.map((r) => [r.name, r.count]));
}
