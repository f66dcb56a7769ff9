/**
 * Worker entry point: `fetch` serves the hub; `queue` dispatches conversion jobs to the converter and adds
 * up download counts (counts/consume.ts); `scheduled`
 * (cron, wrangler.toml) re-dispatches jobs whose lease expired, aborts abandoned resumable uploads and deletes
 * finished jobs past their retention.
 */
import { app } from "./app";
import type { Env } from "./env";
import { consumeJobs, pruneJobs, sweepLeases } from "./jobs/queue";
import { sweepCatalog } from "./catalog/retention";
import { sweepUploads } from "./uploads/resumable";
import { consumeDownloads, DOWNLOADS_QUEUE } from "./counts/consume";

// The converter's container class (production wiring, wrangler.production.toml); unused by local runs.
export { Converter } from "./jobs/converter-container";

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx);
  },
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    if (batch.queue === DOWNLOADS_QUEUE) await consumeDownloads(batch, env);
    else await consumeJobs(batch, env);
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    ctx.waitUntil(sweepUploads(env));
    ctx.waitUntil(pruneJobs(env));
    ctx.waitUntil(sweepCatalog(env));
    await sweepLeases(env);
  },
} satisfies ExportedHandler<Env>;
