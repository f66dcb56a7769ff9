/**
 * Keeps the catalog's storage bounded (run by the cron sweep, index.ts `scheduled`):
 *
 * - History retention: with `HUB_HISTORY_RETENTION_DAYS` > 0, versions replaced longer ago than that are deleted
 *   (their history rows; `/history` no longer lists them and they cannot be restored). 0, the default, keeps every
 *   version, as before.
 * - Blob garbage collection: a `.flist` blob (and its contents listing) that no entry and no kept version refers to
 *   is deleted from D1 and R2 once nothing touched it for BLOB_GRACE_SECONDS. Its `/api/blobs/<sha256>.flist` URL
 *   then answers 404. Only the blobs of the versions a run prunes are examined (store/d1-r2.ts says why
 *   that is enough), so without retention the collector does nothing.
 *
 * Each run does a bounded amount of work (PRUNE_BATCH versions); the next minute's run goes on.
 */
import type { Env } from "../env";
import { nowSeconds } from "../time";
import { catalogStore } from "./store/d1-r2";

/** Publishes reusing a blob touch it first; they finish within seconds, so a day is a wide margin. */
export const BLOB_GRACE_SECONDS = 24 * 3600;
const PRUNE_BATCH = 500;

/** Days of history kept (0 = all). */
export function historyRetentionDays(env: Env): number {
  const value = (env.HUB_HISTORY_RETENTION_DAYS ?? "").trim();
  return /^\d+$/.test(value) ? Number(value) : 0;
}

export interface RetentionRun {
  versions: number;
  blobs: number;
}

export async function sweepCatalog(env: Env, now = nowSeconds()): Promise<RetentionRun> {
  const days = historyRetentionDays(env);
  if (days === 0) return { versions: 0, blobs: 0 }; // every version is kept, so every blob is referenced
  const store = catalogStore(env);
  const pruned = await store.pruneVersions(now - days * 86_400, PRUNE_BATCH);
  const touchedBefore = now - BLOB_GRACE_SECONDS;
  let blobs = 0;
  for (const sha256 of pruned.blobs) {
    const garbage = await store.deleteGarbageBlob(sha256, touchedBefore);
    if (!garbage) continue; // still referenced (or touched by a publish within the grace): kept
    // The row is gone first: from now on whatever references this flist again puts its objects again.
    await store.deleteObjects(garbage);
    blobs += 1;
  }
  return { versions: pruned.versions, blobs };
}
