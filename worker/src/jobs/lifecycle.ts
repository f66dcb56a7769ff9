/**
 * Creating and ending jobs. A job is created `queued` with its input already staged in R2 and one Queue message
 * (the streamed upload creates it before staging, without a message, and starts it itself: uploads/streamed.ts);
 * it ends `succeeded` (the publish batch, catalog/publish.ts) or `failed` (here), each time with its final SSE
 * event written in the same D1 batch as the status, so every event stream ends.
 */
import type { Env } from "../env";
import { currentRequestId } from "../observe/context";
import { errorText, log } from "../observe/log";
import { nowSeconds } from "../time";
import { jobConfig } from "./config";
import type { JobParams } from "./types";
import {
  appendEvent,
  appendEventIfCurrent,
  appendFinalEvent,
  getJob,
  insertJob,
  markFailed,
  reportProgress,
  type JobKind,
  type JobRow,
} from "./store";

export interface NewJob {
  id: string;
  kind: JobKind;
  user: string;
  repository: string;
  name: string;
  params: JobParams;
  input: { key: string; size: number } | null;
}

/** R2 key of a job's staged input (tar archive or uploaded flist). */
export function inputKey(jobId: string): string {
  return `uploads/${jobId}`;
}

/**
 * `queue: false` (the streamed upload, uploads/streamed.ts): no Queue message, the caller claims attempt 1 itself
 * and starts it with the input inline; the job is still dispatched by the lease path if that caller dies.
 */
export async function createJob(env: Env, job: NewJob, options: { queue?: boolean } = {}): Promise<JobRow> {
  const db = env.DB;
  const now = nowSeconds();
  // The Queue message normally dispatches the job within seconds; if it is lost, the lease sweep (or a reader)
  // dispatches it once this grace period is over.
  const leaseUntil = now + jobConfig.leaseSeconds(env);
  // Kept with the job: a dispatch from the Queue or the sweep runs outside this request, but its lines and the
  // converter's carry this id (dispatch.ts).
  const requestId = currentRequestId();
  const params: JobParams = requestId ? { ...job.params, requestId } : job.params;
  await db.batch([
    insertJob(
      db,
      {
        id: job.id,
        kind: job.kind,
        user: job.user,
        repository: job.repository,
        name: job.name,
        params: JSON.stringify(params),
        input_key: job.input?.key ?? null,
        input_size: job.input?.size ?? null,
        lease_until: leaseUntil,
      },
      now,
    ),
    appendEvent(db, job.id, { status: "update", message: "Job queued", progress: 0 }, now),
  ]);
  try {
    if (options.queue !== false) await env.JOBS.send({ jobId: job.id });
  } catch (err) {
    // The job is recorded: the lease sweep will dispatch it. Log the cause, never the request.
    log.error("queue send failed, the job is left to the lease sweep", { job_id: job.id, error: errorText(err) });
  }
  log.info("job created", { job_id: job.id, kind: job.kind, flist: `${job.repository}/${job.name}` });
  const row = await getJob(db, job.id);
  if (!row) throw new Error(`job ${job.id} vanished after insert`);
  return row;
}

/**
 * A report of the current attempt: progress and message updated, the event appended to the log (what listeners
 * replay), the lease renewed; no event = a heartbeat. Answers the new lease end, or null when `attempt` is not
 * the job's current running attempt (nothing written).
 */
export async function recordProgress(
  env: Env,
  job: { id: string; attempt: number },
  event: { message: string; progress: number } | undefined,
): Promise<number | null> {
  const db = env.DB;
  const now = nowSeconds();
  const leaseUntil = now + jobConfig.leaseSeconds(env);
  const progress = event ? Math.round(event.progress) : undefined;
  const statements = [reportProgress(db, job, { progress, message: event?.message }, leaseUntil, now)];
  if (event) {
    const logged = { status: "update", message: event.message, progress };
    statements.push(appendEventIfCurrent(db, job.id, job.attempt, logged, now));
  }
  const [update] = await db.batch(statements);
  return (update?.meta.changes ?? 0) === 1 ? leaseUntil : null;
}

/**
 * Fails the job with `message` and its final `error` event. `attempt` null: the Worker gives up (any unfinished
 * state); otherwise only that running attempt can fail it. Returns false when the job was not in that state.
 * `httpStatus` is what a synchronous request waiting on the job answers.
 */
export async function finishFailed(
  env: Env,
  job: { id: string; attempt: number | null },
  message: string,
  httpStatus = 503,
): Promise<boolean> {
  const db = env.DB;
  const now = nowSeconds();
  const [update] = await db.batch([
    markFailed(db, job, { message, httpStatus }, now),
    appendFinalEvent(db, job.id, "failed", { status: "error", message }, now),
  ]);
  const changed = (update?.meta.changes ?? 0) === 1;
  if (changed) await dropInput(env, job.id);
  return changed;
}

/**
 * Whether the job's input is entirely in R2. R2 writes are atomic (an object exists only once all of it is
 * stored), so an object of the recorded size means the upload completed; while a streamed upload is still running
 * (its converter converting the same bytes inline) there is no object yet. Jobs without input: true.
 */
export async function inputStaged(env: Env, job: JobRow): Promise<boolean> {
  if (!job.input_key) return true;
  const head = await env.FLISTS.head(job.input_key);
  return head !== null && (job.input_size === null || head.size === job.input_size);
}

/** The staged input is only needed while the job can still run. */
export async function dropInput(env: Env, jobId: string): Promise<void> {
  const job = await getJob(env.DB, jobId);
  if (job?.input_key) await env.FLISTS.delete(job.input_key).catch(() => undefined);
}
