/**
 * The Worker's `queue()` consumer and `scheduled()` lease sweep. Both only dispatch (dispatch.ts): a message for
 * a finished job or a job with a live lease is acknowledged and changes nothing, so duplicate deliveries are
 * harmless. A message whose dispatch could not reach the converter is retried with a delay; when the Queue gives
 * up on it, the sweep still dispatches the job once its lease has expired.
 */
import { z } from "zod";
import type { Env } from "../env";
import { nowSeconds } from "../catalog/format";
import { dispatchJob } from "./dispatch";
import { expiredJobs } from "./store";

const messageSchema = z.object({ jobId: z.string().min(1).max(200) });

/** Jobs dispatched per sweep: each dispatch is one converter call; the next tick takes the rest. */
const SWEEP_BATCH = 25;

export async function consumeJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = messageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(`queue: dropping a malformed message (${message.id})`);
      message.ack();
      continue;
    }
    try {
      const outcome = await dispatchJob(env, parsed.data.jobId, "queue");
      if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
      else message.ack();
    } catch (err) {
      // D1 unavailable and the like: let the Queue deliver it again.
      console.error(`queue: dispatch of job ${parsed.data.jobId} failed: ${String(err)}`);
      message.retry({ delaySeconds: 5 });
    }
  }
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
      console.error(`sweep: dispatch of job ${job.id} failed: ${String(err)}`);
    }
  }
  return dispatched;
}
