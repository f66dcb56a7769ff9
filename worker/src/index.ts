/**
 * Worker entry point: `fetch` serves the hub; `queue` dispatches conversion jobs to the converter and adds
 * up download counts (counts/consume.ts); `scheduled`
 * (cron, wrangler.toml) re-dispatches jobs whose lease expired, aborts abandoned resumable uploads and deletes
 * finished jobs past their retention.
 */
import { app } from "./app";
import type { Env } from "./env";
import { consumeJobs, pruneJobs, sweepLeases } from "./jobs/queue";
import { withContext } from "./observe/context";
import { logLevelOf } from "./observe/log";
import { sweepCatalog } from "./catalog/retention";
import { sweepUploads } from "./uploads/resumable";
import { consumeDownloads, DOWNLOADS_QUEUE } from "./counts/consume";

// The converter's container class (production wiring, wrangler.production.toml); unused by local runs.
export { Converter } from "./jobs/converter-container";

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx);
  },
  // No request here: the log level only; each job's dispatch takes the id of the request that started it.
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    await withContext({ level: logLevelOf(env.HUB_LOG_LEVEL) }, () =>
      batch.queue === DOWNLOADS_QUEUE ? consumeDownloads(batch, env) : consumeJobs(batch, env),
    );
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    await withContext({ level: logLevelOf(env.HUB_LOG_LEVEL) }, async () => {
      ctx.waitUntil(sweepUploads(env));
      ctx.waitUntil(pruneJobs(env));
      ctx.waitUntil(sweepCatalog(env));
      await sweepLeases(env);
    });
  },
} satisfies ExportedHandler<Env>;
