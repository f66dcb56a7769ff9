/**
 * The resumable-upload protocol shared by archives (uploads/resumable.ts) and image files (images/resumable.ts):
 * a session over an R2 multipart upload, private to the repository that opened it, whose parts are each one
 * request body. What a mount keeps of its sessions (its D1 table), how it names their objects and what completing
 * does stay with the mount; the rules and the R2 calls every mount shares live here and in routes.ts.
 */
import { z } from "zod";
import type { Env } from "../env";
import { nowSeconds } from "../time";
import { HubError } from "../http/errors";
import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, uploadConfig } from "../jobs/config";

export type SessionStatus = "open" | "completed" | "aborted";

/** What the protocol needs of a stored session; `row` is the mount's own record. */
export interface Session<Row> {
  id: string;
  repository: string;
  objectKey: string;
  uploadId: string;
  partSize: number;
  status: SessionStatus;
  row: Row;
}

/** A mount's D1 storage of its sessions. */
export interface SessionStore<Row> {
  get(db: D1Database, id: string): Promise<Session<Row> | null>;
  /** Forgets an open session whose R2 upload was just aborted. */
  aborted(db: D1Database, session: Session<Row>, now: number): Promise<void>;
  /** Open sessions untouched since `before`, oldest first; absent when the mount's sessions are never swept. */
  abandoned?(db: D1Database, before: number, limit: number): Promise<Session<Row>[]>;
}

/** The `partSize` a create request may ask for: R2's 5 MiB minimum to 95 MiB (jobs/config.ts). */
export const partSizeSchema = z.number().int().min(MIN_PART_SIZE).max(MAX_PART_SIZE);

/** The session's R2 multipart upload. */
export function multipart<Row>(env: Env, session: Session<Row>): R2MultipartUpload {
  return env.FLISTS.resumeMultipartUpload(session.objectKey, session.uploadId);
}

/**
 * The part size of a new session: a part is one request body, so within this hub's request limit
 * (`HUB_REQUEST_MAX_BYTES`); the default shrinks to fit it.
 */
export function negotiatePartSize(env: Env, wanted: number | undefined): number {
  const partMax = uploadConfig.partMaxBytes(env);
  if (wanted !== undefined && wanted > partMax) {
    throw new HubError(400, `partSize larger than ${partMax} bytes, the largest one request to this hub may carry`);
  }
  return wanted ?? Math.min(DEFAULT_PART_SIZE, partMax);
}

/** `HUB_UPLOAD_MAX_BYTES` bounds the whole upload; `what` names it in the refusal ("archive", "file"). */
export function checkTotal(env: Env, size: number | undefined, what: string): void {
  const cap = uploadConfig.maxBytes(env);
  if (size !== undefined && size > cap) throw new HubError(413, `${what} larger than ${cap} bytes`);
}

/** Aborts the R2 upload (already gone is fine: R2 expires incomplete uploads itself) and forgets the session. */
export async function abortSession<Row>(env: Env, store: SessionStore<Row>, session: Session<Row>): Promise<void> {
  await multipart(env, session)
    .abort()
    .catch(() => undefined);
  await store.aborted(env.DB, session, nowSeconds());
}

/** Scheduled: aborts a batch of the store's open sessions untouched for `afterSeconds`. */
export async function sweepAbandoned<Row>(env: Env, store: SessionStore<Row>, afterSeconds: number, batch = 25): Promise<void> {
  if (!store.abandoned) return;
  const sessions = await store.abandoned(env.DB, nowSeconds() - afterSeconds, batch);
  for (const session of sessions) await abortSession(env, store, session);
}
