/**
 * The Worker's `queue()` consumer and `scheduled()` lease sweep. Both only dispatch (dispatch.ts): a message for
 * a finished job or a job with a live lease is acknowledged and changes nothing, so duplicate deliveries are
 * harmless. A message whose dispatch could not reach the converter is retried with a delay; when the Queue gives
 * up on it, the sweep still dispatches the job once its lease has expired.
 */
import { z } from "zod";
import type { Env } from "../env";
import { errorText, log } from "../observe/log";
import { nowSeconds } from "../time";
import { dispatchJob } from "./dispatch";
import { jobConfig } from "./config";
import { deleteJob, expiredJobs, finishedBefore } from "./store";

const messageSchema = z.object({ jobId: z.string().min(1).max(200) });

/** Jobs dispatched per sweep: each dispatch is one converter call; the next tick takes the rest. */
const SWEEP_BATCH = 25;

export async function consumeJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = messageSchema.safeParse(message.body);
    if (!parsed.success) {
      log.error("queue: dropping a malformed message", { message_id: message.id });
      message.ack();
      continue;
    }
    try {
      const outcome = await dispatchJob(env, parsed.data.jobId, "queue");
      if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
      else message.ack();
    } catch (err) {
      // D1 unavailable and the like: let the Queue deliver it again.
      log.error("queue: dispatch failed, the message will be delivered again", { job_id: parsed.data.jobId, error: errorText(err) });
      message.retry({ delaySeconds: 5 });
    }
  }
}

/** Finished jobs deleted per sweep; a backlog drains over the next ticks. */
const PRUNE_BATCH = 50;

/**
 * Deletes finished jobs (and their events) older than the retention, and the rows of finished resumable uploads.
 * Published flists are untouched: they live in the catalog, not in the job.
 */
export async function pruneJobs(env: Env): Promise<number> {
  const before = nowSeconds() - jobConfig.retentionDays(env) * 86_400;
  const ids = await finishedBefore(env.DB, before, PRUNE_BATCH);
  const statements = ids.flatMap((id) => deleteJob(env.DB, id));
  statements.push(
    env.DB.prepare("DELETE FROM upload_sessions WHERE status IN ('completed', 'aborted') AND updated < ?1")
      .bind(before),
    // Belt and braces: ending a job already removes its sealed registry credentials (store.ts); a finished row
    // that still has some (written by an older version) loses them here, through the lease index.
    env.DB.prepare(
      `UPDATE jobs SET params = json_remove(params, '$.sealed')
        WHERE status IN ('succeeded', 'failed') AND lease_until <= ?1 AND json_extract(params, '$.sealed') IS NOT NULL`,
    ).bind(nowSeconds()),
  );
  await env.DB.batch(statements);
  return ids.length;
}

/** Dispatches every queued/running job whose lease expired (converter died, message lost). */
export async function sweepLeases(env: Env): Promise<number> {
  const jobs = await expiredJobs(env.DB, nowSeconds(), SWEEP_BATCH);
  let dispatched = 0;
  for (const job of jobs) {
    try {
      const outcome = await dispatchJob(env, job.id, "lease");
      if (outcome.kind !== "idle") dispatched += 1;
    } catch (err) {
      log.error("sweep: dispatch failed", { job_id: job.id, error: errorText(err) });
    }
  }
  return dispatched;
}
