/**
 * "Nothing scans the whole catalog on a per-repository request": every multi-row query behind a
 * per-repository route is checked with SQLite's EXPLAIN QUERY PLAN: only the recursive link-following CTEs
 * themselves (and the purge's list of seeds, `json_each`) may be scanned; every table is reached through an index.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PER_REPOSITORY_SQL } from "../src/catalog/store/d1-r2";
import { migrate } from "./support/hub";

beforeAll(migrate);

describe("per-repository queries", () => {
  for (const [name, sql] of Object.entries(PER_REPOSITORY_SQL)) {
    it(`${name} uses indexes only`, async () => {
      const params = Math.max(0, ...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      const binds = Array.from({ length: params }, (_, i) => (i === 2 ? 40 : "x"));
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...binds)
        .all<{ detail: string }>();
      const details = results.map((r) => r.detail);
      expect(details.length).toBeGreaterThan(0);
      const scans = details.filter((d) => /^SCAN /.test(d) && !/^SCAN (c|chain|d|deps|json_each)\b/.test(d));
      expect(scans, details.join("\n")).toEqual([]);
    });
  }
});
