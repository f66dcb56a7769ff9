/**
 * Dispatching a job to the converter (docs/jobs-protocol.md "Job lifecycle" step 2). Called by the queue
 * consumer, the scheduled lease sweep, and lazily whenever someone reads or waits on a job, so a job whose
 * converter died is picked up again even when no message and no cron tick arrives.
 *
 * At most one dispatcher wins an attempt: the claim is a conditional UPDATE on (attempts, lease expired).
 */
import type { Env } from "../env";
import { currentRequestId, withRequestId } from "../observe/context";
import { log } from "../observe/log";
import { nowSeconds } from "../time";
import type { JobSpecInput } from "../../../protocol/job-spec";
import { openCredentials } from "./credentials";
import { jobConfig } from "./config";
import { converterError, converterFetch } from "./converter";
import { finishFailed } from "./lifecycle";
import type { JobParams } from "./types";
import {
  appendEventIfCurrent,
  claimAttempt,
  getJob,
  isTerminal,
  noteLastError,
  releaseAttempt,
  unclaimAttempt,
  type JobRow,
} from "./store";

export type DispatchOutcome =
  /** Nothing to do (finished, someone else holds a live lease, or unknown id). */
  | { kind: "idle" }
  /** The converter accepted attempt `attempt`. */
  | { kind: "dispatched"; attempt: number }
  /** The converter could not be reached; try again after `delaySeconds`. */
  | { kind: "retry"; delaySeconds: number; reason: string }
  /** The job failed for good (attempts exhausted, or the converter refused it). */
  | { kind: "failed"; reason: string };

/** Job spec of `POST <converter>/jobs`: the contract's (protocol/job-spec.ts), as the converter parses it. */
export type JobSpec = JobSpecInput;

/** The spec of `POST <converter>/jobs`. Async: a docker job's credentials are opened here, for this call only. */
export async function jobSpec(env: Env, job: JobRow, attempt: number): Promise<JobSpec> {
  const params = JSON.parse(job.params) as JobParams;
  const common = { id: job.id, attempt, repository: job.repository, name: job.name, metadata: params.metadata ?? {} };
  switch (job.kind) {
    case "merge":
      return { ...common, kind: job.kind, sources: params.sources ?? [] };
    case "docker": {
      // A docker job always has its request; without it the converter refuses the spec (no image), as before.
      const spec: Extract<JobSpec, { kind: "docker" }> = { ...common, kind: job.kind, image: params.docker?.image as string };
      if (params.docker?.platform !== undefined) spec.platform = params.docker.platform;
      if (params.docker?.startupToml !== undefined) spec.startupToml = params.docker.startupToml;
      if (params.docker && params.sealed) spec.credentials = await openCredentials(env.INTERNAL_SECRET, job.id, params.sealed);
      return spec;
    }
    default:
      return { ...common, kind: job.kind };
  }
}

/** Delay before the next dispatch after the converter could not be reached: grows with the attempts. */
function retryDelay(env: Env, attempt: number): number {
  return Math.min(jobConfig.leaseSeconds(env), 5 * attempt);
}

/**
 * Who asks for the dispatch. The Queue message is the normal way a queued job starts, so it does not wait for
 * the queued grace period; the sweep and readers only take over jobs whose lease (or queued grace) has expired.
 */
export type DispatchTrigger = "queue" | "lease";

/** Whether the job should be dispatched now. */
export function isDispatchable(job: JobRow, trigger: DispatchTrigger, now = nowSeconds()): boolean {
  if (isTerminal(job.status)) return false;
  if (trigger === "queue" && job.status === "queued") return true;
  return job.lease_until <= now;
}

/** The id of the request that started the job (stored in its params by lifecycle.ts), if any. */
function startingRequestId(job: JobRow): string | undefined {
  try {
    const id = (JSON.parse(job.params) as JobParams).requestId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

export async function dispatchJob(env: Env, jobId: string, trigger: DispatchTrigger): Promise<DispatchOutcome> {
  const job = await getJob(env.DB, jobId);
  if (!job || !isDispatchable(job, trigger)) return { kind: "idle" };
  // Whoever dispatches (the Queue, the sweep, a reader), the job's lines and the converter's carry its own id.
  return withRequestId(startingRequestId(job) ?? currentRequestId(), async () => {
    const outcome = await dispatchClaimed(env, job);
    if (outcome.kind === "idle") log.debug("dispatch: nothing to do", { job_id: job.id, trigger });
    else if (outcome.kind === "dispatched") log.info("job dispatched", { job_id: job.id, attempt: outcome.attempt, trigger });
    else log.warn(outcome.kind === "retry" ? "dispatch will be retried" : "job failed at dispatch", { job_id: job.id, trigger, reason: outcome.reason });
    return outcome;
  });
}

async function dispatchClaimed(env: Env, job: JobRow): Promise<DispatchOutcome> {
  const db = env.DB;
  const now = nowSeconds();
  const lease = jobConfig.leaseSeconds(env);

  // A running job whose lease expired: its converter stopped reporting. Say so before the next attempt.
  let lastError = job.last_error;
  if (job.status === "running" && job.attempts > 0) {
    lastError ??= `the converter stopped reporting (attempt ${job.attempts}, lease of ${lease} s expired)`;
    await noteLastError(db, job.id, job.attempts, lastError).run();
  }

  const max = jobConfig.maxAttempts(env);
  if (job.attempts >= max) {
    const attempts = `${job.attempts} attempt${job.attempts === 1 ? "" : "s"}`;
    const reason = `gave up after ${attempts}: ${lastError ?? "unknown error"}`;
    await finishFailed(env, { id: job.id, attempt: null }, reason);
    return { kind: "failed", reason };
  }

  const claimed = await claimAttempt(db, job, now + lease, now).run();
  if (claimed.meta.changes !== 1) return { kind: "idle" };
  const attempt = job.attempts + 1;
  if (attempt > 1) {
    // Listeners replay every attempt's progress: say why the job starts over.
    const message = `Retrying (attempt ${attempt} of ${max}): ${lastError ?? "previous attempt ended"}`;
    await appendEventIfCurrent(db, job.id, attempt, { status: "update", message, progress: job.progress }, now).run();
  }

  let spec: JobSpec;
  try {
    spec = await jobSpec(env, job, attempt);
  } catch (err) {
    // The sealed credentials do not open (INTERNAL_SECRET rotated meanwhile): no attempt can ever succeed.
    const reason = `cannot prepare the job: ${err instanceof Error ? err.message : String(err)}`;
    await finishFailed(env, { id: job.id, attempt }, reason, 500);
    return { kind: "failed", reason };
  }
  let res: Response;
  try {
    res = await converterFetch(
      env,
      "/jobs",
      {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(spec),
      },
      job.id,
    );
  } catch (err) {
    return release(env, job.id, attempt, `converter unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.ok) {
    await res.body?.cancel();
    return { kind: "dispatched", attempt };
  }
  const message = await converterError(res);
  if (res.status === 503) {
    // Busy (its queue is full): the job never started there, so the attempt is given back and the job waits.
    const delaySeconds = retryDelay(env, 1);
    const now = nowSeconds();
    await unclaimAttempt(db, { id: job.id, attempt }, `converter busy: ${message}`, now + delaySeconds, now).run();
    return { kind: "retry", delaySeconds, reason: `converter busy: ${message}` };
  }
  // 4xx (but 408/429): the converter will never accept this spec; retrying would only burn attempts.
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    const reason = `converter refused the job: ${message}`;
    await finishFailed(env, { id: job.id, attempt }, reason);
    return { kind: "failed", reason };
  }
  return release(env, job.id, attempt, `converter unavailable: ${message}`);
}

async function release(env: Env, id: string, attempt: number, reason: string): Promise<DispatchOutcome> {
  const delaySeconds = retryDelay(env, attempt);
  const now = nowSeconds();
  await releaseAttempt(env.DB, { id, attempt }, reason, now + delaySeconds, now).run();
  return { kind: "retry", delaySeconds, reason };
}
