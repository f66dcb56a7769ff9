/**
 * Reading and waiting on jobs. Every read of an unfinished job whose lease expired dispatches it again first
 * (lazily, DESIGN.md §2 "No job is lost"), so a job whose converter died moves on as soon as anyone looks at it,
 * even without a queue delivery or a cron tick.
 */
import type { Env } from "../env";
import { dispatchJob, isDispatchable } from "./dispatch";
import { getJob, isTerminal, type JobRow } from "./store";
import type { JobResult } from "../services/publish";

/** The job, after a lazy re-dispatch when its lease expired. */
export async function readJob(env: Env, id: string): Promise<JobRow | null> {
  const job = await getJob(env.DB, id);
  if (!job || !isDispatchable(job, "lease")) return job;
  try {
    await dispatchJob(env, id, "lease");
  } catch (err) {
    // A read must not fail because a dispatch did; the next read or the sweep tries again.
    console.error(`job ${id}: lazy dispatch failed: ${String(err)}`);
  }
  return getJob(env.DB, id);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls until the job ends (synchronous API answers). The interval starts short, so small jobs answer fast,
 * grows to 1 s, and to 3 s after two minutes, so a long job costs a request few D1 queries. `signal` aborts
 * the wait (client gone).
 */
export async function waitForJob(env: Env, id: string, signal?: AbortSignal): Promise<JobRow> {
  const slowAfter = Date.now() + 120_000;
  let interval = 100;
  for (;;) {
    const job = await readJob(env, id);
    if (!job) throw new Error(`job ${id} vanished`);
    if (isTerminal(job.status)) return job;
    if (signal?.aborted) throw new Error("client went away");
    await sleep(interval);
    interval = Math.min(Date.now() > slowAfter ? 3000 : 1000, Math.round(interval * 1.5));
  }
}

export interface JobView {
  id: string;
  kind: JobRow["kind"];
  user: string;
  repository: string;
  name: string;
  status: JobRow["status"];
  progress: number;
  message: string;
  attempts: number;
  created: number;
  updated: number;
  finished: number | null;
  result: JobResult | null;
  links: { self: string; events: string; listen: string };
}

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
