/**
 * The converter's side of a job (docs/jobs-protocol.md "Worker internal endpoints"), all behind
 * `requireInternal()`: read the staged input, report progress (renews the lease), fail the job. The publish
 * itself goes through `PUT /internal/publish/<repo>/<name>` with `info.jobId` + `info.attempt`.
 * Every call naming an attempt that is not the job's current running one answers 409: the converter stops.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireInternal } from "../auth/internal";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { finishFailed, recordProgress } from "./lifecycle";
import { eventsBodySchema as eventsBody, failBodySchema as failBody } from "../../../protocol/reports";
import { sweepLeases } from "./queue";
import { jobView } from "./read";
import { getJob, isTerminal, type JobRow } from "./store";
import { checked } from "../http/validate";

export const internalJobs = new Hono<AppEnv>();

// The bodies of the converter's reports are the contract's (protocol/reports.ts): over-long messages are
// truncated there, never refused, since a refused failure report would leave the job to its lease.

async function body<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HubError(400, "malformed json request");
  }
  return checked(schema, raw, { what: "body", root: "(root)" });
}

async function requireJob(c: Context<AppEnv>): Promise<JobRow> {
  const job = await getJob(c.env.DB, c.req.param("id") ?? "");
  if (!job) throw new HubError(404, "job id not found");
  return job;
}

function staleError(job: JobRow, attempt: number): HubError {
  if (isTerminal(job.status)) return new HubError(409, `job ${job.id} is ${job.status}`);
  const current = `current attempt ${job.attempts}, ${job.status}`;
  return new HubError(409, `stale attempt ${attempt} of job ${job.id} (${current})`);
}

// Operators and fault tests: run the lease sweep now (`wrangler dev` fires no cron by itself).
internalJobs.post("/internal/jobs/sweep", requireInternal(), async (c) => {
  return ok(c, { dispatched: await sweepLeases(c.env) });
});

// Operators and fault tests: one more Queue message for the job, i.e. a duplicate delivery. Harmless by design:
// a delivery for a finished job or a job with a live lease changes nothing.
internalJobs.post("/internal/jobs/:id/requeue", requireInternal(), async (c) => {
  const job = await requireJob(c);
  await c.env.JOBS.send({ jobId: job.id });
  return ok(c, jobView(job), 202);
});

internalJobs.get("/internal/jobs/:id/input", requireInternal(), async (c) => {
  const job = await requireJob(c);
  if (isTerminal(job.status)) throw new HubError(409, `job ${job.id} is ${job.status}`);
  if (!job.input_key) throw new HubError(404, `job ${job.id} has no staged input`);
  const object = await c.env.FLISTS.get(job.input_key);
  if (!object) throw new HubError(404, `input of job ${job.id} is missing from storage`);
  return new Response(object.body, {
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(object.size) },
  });
});

internalJobs.post("/internal/jobs/:id/events", requireInternal(), async (c) => {
  const job = await requireJob(c);
  const { attempt, event } = await body(c, eventsBody);
  const leaseUntil = await recordProgress(c.env, { id: job.id, attempt }, event);
  if (leaseUntil === null) throw staleError((await getJob(c.env.DB, job.id)) ?? job, attempt);
  return ok(c, { lease_until: leaseUntil });
});

internalJobs.post("/internal/jobs/:id/fail", requireInternal(), async (c) => {
  const job = await requireJob(c);
  const { attempt, message, status } = await body(c, failBody);
  if (!(await finishFailed(c.env, { id: job.id, attempt }, message, status ?? 422))) {
    throw staleError((await getJob(c.env.DB, job.id)) ?? job, attempt);
  }
  return ok(c);
});
