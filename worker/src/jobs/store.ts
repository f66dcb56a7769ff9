/**
 * D1 statements of the job tables (migrations/0003_jobs.sql). Every state change is a conditional UPDATE
 * (`WHERE status = … AND attempts = …`), so two deliveries, two converters or a converter and the lease sweep
 * racing on one job cannot both win: the loser sees `changes = 0`.
 */

/** The kinds of the job spec (protocol/job-spec.ts). */
export type { JobKind } from "../../../protocol/job-spec";
import type { JobKind } from "../../../protocol/job-spec";
export type JobStatus = "queued" | "running" | "succeeded" | "failed";

export interface JobRow {
  id: string;
  kind: JobKind;
  user: string;
  repository: string;
  name: string;
  status: JobStatus;
  progress: number;
  message: string;
  attempts: number;
  lease_until: number;
  last_error: string | null;
  params: string;
  result: string | null;
  input_key: string | null;
  input_size: number | null;
  created: number;
  updated: number;
  finished: number | null;
}

export interface JobEventRow {
  seq: number;
  data: string;
}

/**
 * The queries that run on a schedule or per caller over the whole jobs table, by name. Exported so a test can
 * check with EXPLAIN QUERY PLAN that each is an index range, never a table scan.
 */
export const JOB_SCAN_SQL = {
  expired: `SELECT * FROM jobs WHERE status IN ('queued', 'running') AND lease_until <= ?1
              ORDER BY lease_until LIMIT ?2`,
  finished: `SELECT id FROM jobs WHERE status IN ('succeeded', 'failed') AND lease_until < ?1
               ORDER BY lease_until LIMIT ?2`,
  ofRepository: "SELECT * FROM jobs WHERE repository = ?1 ORDER BY created DESC, id LIMIT ?2",
  events: "SELECT seq, data FROM job_events WHERE job_id = ?1 AND seq > ?2 ORDER BY seq",
};

export function isTerminal(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed";
}

export async function getJob(db: D1Database, id: string): Promise<JobRow | null> {
  return db.prepare("SELECT * FROM jobs WHERE id = ?1").bind(id).first<JobRow>();
}

export function insertJob(
  db: D1Database,
  job: Pick<
    JobRow,
    "id" | "kind" | "user" | "repository" | "name" | "params" | "input_key" | "input_size" | "lease_until"
  >,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO jobs (id, kind, user, repository, name, status, progress, message, attempts, lease_until,
                         params, input_key, input_size, created, updated)
       VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, 'queued', 0, ?6, ?7, ?8, ?9, ?10, ?10)`,
    )
    .bind(
      job.id,
      job.kind,
      job.user,
      job.repository,
      job.name,
      job.lease_until,
      job.params,
      job.input_key,
      job.input_size,
      now,
    );
}

/** Appends an event after the job's last one (seq computed inside the statement: no read-then-write race). */
export function appendEvent(db: D1Database, jobId: string, data: unknown, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO job_events (job_id, seq, data, created)
       SELECT ?1, COALESCE((SELECT MAX(seq) FROM job_events WHERE job_id = ?1), 0) + 1, ?2, ?3`,
    )
    .bind(jobId, JSON.stringify(data), now);
}

/** Like appendEvent, but only while `attempt` is the job's current, running attempt. */
export function appendEventIfCurrent(
  db: D1Database,
  jobId: string,
  attempt: number,
  data: unknown,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO job_events (job_id, seq, data, created)
       SELECT ?1, COALESCE((SELECT MAX(seq) FROM job_events WHERE job_id = ?1), 0) + 1, ?2, ?3
        WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND status = 'running' AND attempts = ?4)`,
    )
    .bind(jobId, JSON.stringify(data), now, attempt);
}

/**
 * Appends the job's final event (`info` or `error`) once: only when the job is in `status` and has no final
 * event yet. Runs in the same batch as the status change, so a finished job always ends its event stream.
 */
export function appendFinalEvent(
  db: D1Database,
  jobId: string,
  status: "succeeded" | "failed",
  data: unknown,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO job_events (job_id, seq, data, created)
       SELECT ?1, COALESCE((SELECT MAX(seq) FROM job_events WHERE job_id = ?1), 0) + 1, ?2, ?3
        WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND status = ?4)
          AND NOT EXISTS (SELECT 1 FROM job_events WHERE job_id = ?1
                           AND json_extract(data, '$.status') IN ('info', 'error'))`,
    )
    .bind(jobId, JSON.stringify(data), now, status);
}

export async function eventsAfter(db: D1Database, jobId: string, afterSeq: number): Promise<JobEventRow[]> {
  const { results } = await db
    .prepare(JOB_SCAN_SQL.events)
    .bind(jobId, afterSeq)
    .all<JobEventRow>();
  return results;
}

/**
 * Takes the job for a new attempt: only if it is still in the state the dispatcher read (same attempts count,
 * not finished, queued or with an expired lease). `changes = 1` means this caller owns the new attempt; two
 * dispatchers racing on one job read the same `attempts`, so only one of them can win.
 */
export function claimAttempt(
  db: D1Database,
  job: { id: string; attempts: number },
  leaseUntil: number,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?3, updated = ?4, last_error = NULL,
                       message = 'dispatched (attempt ' || (attempts + 1) || ')'
        WHERE id = ?1 AND attempts = ?2 AND (status = 'queued' OR (status = 'running' AND lease_until <= ?4))`,
    )
    .bind(job.id, job.attempts, leaseUntil, now);
}

/** A dispatch failed (converter unreachable): remember why and when the job may be dispatched again. */
export function releaseAttempt(
  db: D1Database,
  job: { id: string; attempt: number },
  reason: string,
  retryAt: number,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET last_error = ?3, lease_until = ?4, updated = ?5
        WHERE id = ?1 AND attempts = ?2 AND status = 'running'`,
    )
    .bind(job.id, job.attempt, reason, retryAt, now);
}

/**
 * Gives a claimed attempt back (the converter was reachable but busy): the attempt never started, so it does not
 * count; the job waits until `retryAt` in the state it had before the claim.
 */
export function unclaimAttempt(
  db: D1Database,
  job: { id: string; attempt: number },
  reason: string,
  retryAt: number,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET attempts = attempts - 1, status = CASE WHEN attempts = 1 THEN 'queued' ELSE 'running' END,
                       last_error = ?3, message = ?3, lease_until = ?4, updated = ?5
        WHERE id = ?1 AND attempts = ?2 AND status = 'running'`,
    )
    .bind(job.id, job.attempt, reason, retryAt, now);
}

/** Records why the current attempt is over (lease expiry) before the next claim. */
export function noteLastError(db: D1Database, id: string, attempts: number, reason: string): D1PreparedStatement {
  return db
    .prepare("UPDATE jobs SET last_error = ?3 WHERE id = ?1 AND attempts = ?2 AND status IN ('queued', 'running')")
    .bind(id, attempts, reason);
}

/** Progress report of the current attempt: renews the lease. */
export function reportProgress(
  db: D1Database,
  job: { id: string; attempt: number },
  update: { progress?: number; message?: string },
  leaseUntil: number,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET progress = COALESCE(?3, progress), message = COALESCE(?4, message), lease_until = ?5,
                       updated = ?6
        WHERE id = ?1 AND attempts = ?2 AND status = 'running'`,
    )
    .bind(job.id, job.attempt, update.progress ?? null, update.message ?? null, leaseUntil, now);
}

/**
 * A finished job needs no registry credentials: their sealed copy (docker jobs) leaves the row in the same
 * UPDATE that ends the job, so a job record at rest holds them only while it can still run.
 */
const WIPE_SEALED = "json_remove(params, '$.sealed')";

/**
 * Fails the job. `attempt` null = the Worker itself gives up (any non-final state); otherwise only the current
 * running attempt may fail it.
 */
export function markFailed(
  db: D1Database,
  job: { id: string; attempt: number | null },
  failure: { message: string; httpStatus: number },
  now: number,
): D1PreparedStatement {
  const result = JSON.stringify({ httpStatus: failure.httpStatus });
  return job.attempt === null
    ? db
        .prepare(
          `UPDATE jobs SET status = 'failed', message = ?2, result = ?3, finished = ?4, updated = ?4, lease_until = ?4,
                           params = ${WIPE_SEALED}
            WHERE id = ?1 AND status IN ('queued', 'running')`,
        )
        .bind(job.id, failure.message, result, now)
    : db
        .prepare(
          `UPDATE jobs SET status = 'failed', message = ?2, result = ?3, finished = ?4, updated = ?4, lease_until = ?4,
                           params = ${WIPE_SEALED}
            WHERE id = ?1 AND status = 'running' AND attempts = ?5`,
        )
        .bind(job.id, failure.message, result, now, job.attempt);
}

/** Success of the current attempt; runs inside the publish batch, after its guard. */
export function markSucceeded(
  db: D1Database,
  job: { id: string; attempt: number },
  result: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET status = 'succeeded', progress = 100, message = 'published', result = ?3, finished = ?4,
                       updated = ?4, lease_until = ?4, params = ${WIPE_SEALED}
        WHERE id = ?1 AND status = 'running' AND attempts = ?2`,
    )
    .bind(job.id, job.attempt, result, now);
}

/**
 * Finished jobs whose end (`lease_until` is set to the finish time when a job ends, so the lease index serves
 * this query too) is older than `before`, for the retention sweep.
 */
export async function finishedBefore(db: D1Database, before: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(JOB_SCAN_SQL.finished)
    .bind(before, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

export function deleteJob(db: D1Database, id: string): D1PreparedStatement[] {
  return [
    db.prepare("DELETE FROM job_events WHERE job_id = ?1").bind(id),
    db.prepare("DELETE FROM jobs WHERE id = ?1").bind(id),
  ];
}

/** Queued/running jobs whose lease expired (the sweep), oldest first. */
export async function expiredJobs(db: D1Database, now: number, limit: number): Promise<JobRow[]> {
  const { results } = await db
    .prepare(JOB_SCAN_SQL.expired)
    .bind(now, limit)
    .all<JobRow>();
  return results;
}

export async function jobsOfRepository(db: D1Database, repository: string, limit: number): Promise<JobRow[]> {
  const { results } = await db
    .prepare(JOB_SCAN_SQL.ofRepository)
    .bind(repository, limit)
    .all<JobRow>();
  return results;
}
