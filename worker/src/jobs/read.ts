/**
 * Reading and waiting on jobs. Every read of an unfinished job whose lease expired dispatches it again first
 * (lazily, docs/design.md §2.2), so a job whose converter died moves on as soon as anyone looks at it,
 * even without a queue delivery or a cron tick.
 */
import type { Env } from "../env";
import { errorText, log } from "../observe/log";
import { dispatchJob, isDispatchable } from "./dispatch";
import { getJob, isTerminal, type JobRow } from "./store";
import type { JobResult } from "./types";
import type { JobView } from "./responses";

/** The job, after a lazy re-dispatch when its lease expired. */
export async function readJob(env: Env, id: string): Promise<JobRow | null> {
  const job = await getJob(env.DB, id);
  if (!job || !isDispatchable(job, "lease")) return job;
  try {
    await dispatchJob(env, id, "lease");
  } catch (err) {
    // A read must not fail because a dispatch did; the next read or the sweep tries again.
    log.error("lazy dispatch failed", { job_id: id, error: errorText(err) });
  }
  return getJob(env.DB, id);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Longest poll interval of a synchronous wait, by time waited: the answer lags the job's end by at most this. */
function maxInterval(waitedMs: number): number {
  if (waitedMs < 30_000) return 250;
  if (waitedMs < 60_000) return 500;
  if (waitedMs < 300_000) return 1000;
  return 3000;
}

/**
 * Polls until the job ends (synchronous API answers). The interval starts short, so small jobs answer fast, and
 * grows with the time waited (0.25 s, 0.5 s after 30 s, 1 s after a minute, 3 s after five), so a job of a few
 * seconds answers within a quarter second of its end and a long one costs a request few D1 queries. `signal` aborts the wait (client gone).
 */
export async function waitForJob(env: Env, id: string, signal?: AbortSignal): Promise<JobRow> {
  const start = Date.now();
  let interval = 50;
  for (;;) {
    const job = await readJob(env, id);
    if (!job) throw new Error(`job ${id} vanished`);
    if (isTerminal(job.status)) return job;
    if (signal?.aborted) throw new Error("client went away");
    await sleep(interval);
    interval = Math.min(maxInterval(Date.now() - start), Math.round(interval * 1.5));
  }
}

export type { JobView };

export function jobUrls(id: string): JobView["links"] {
  return { self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events`, listen: `/listen/${id}` };
}

/** The public shape of a job (`GET /api/jobs/<id>`, `GET /api/jobs`). Never the staged input's key. */
export function jobView(job: JobRow): JobView {
  return {
    id: job.id,
    kind: job.kind,
    user: job.user,
    repository: job.repository,
    name: job.name,
    status: job.status,
    progress: job.progress,
    message: job.message,
    attempts: job.attempts,
    created: job.created,
    updated: job.updated,
    finished: job.finished,
    result: job.status === "succeeded" && job.result ? (JSON.parse(job.result) as JobResult) : null,
    links: jobUrls(job.id),
  };
}
