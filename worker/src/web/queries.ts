/**
 * Reads only the site needs (the API has no equivalent): per-repository counts for the home page. Everything
 * else the pages show comes from the catalog services (worker/src/services).
 */
export interface RepositoryCounts {
  flists: number;
  links: number;
}

/** One grouped pass over `entries` (its primary key starts with the repository). */
export async function repositoryCounts(db: D1Database): Promise<Map<string, RepositoryCounts>> {
  const { results } = await db
    .prepare(
      `SELECT repository, SUM(kind = 'regular') AS flists, SUM(kind <> 'regular') AS links
         FROM entries GROUP BY repository`,
    )
    .all<{ repository: string; flists: number; links: number }>();
  return new Map(results.map((r) => [r.repository, { flists: r.flists, links: r.links }]));
}
