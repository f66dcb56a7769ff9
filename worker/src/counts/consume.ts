/**
 * Download counting, consumer side: a batch of DOWNLOADS messages (up to max_batch_size, or what arrived within
 * max_batch_timeout: wrangler.toml) becomes one D1 statement. Counts are at least once: if D1 fails the whole
 * batch is retried; a batch written but not acknowledged would be counted twice (rare; a count, not a ledger).
 */
import { z } from "zod";
import type { Env } from "../env";
import { addDownloads } from "./store";

/** The queue the Worker's `queue` handler hands here (index.ts); keep in step with wrangler*.toml. */
export const DOWNLOADS_QUEUE = "zos-hub-downloads";

const messageSchema = z.object({ repository: z.string().min(1).max(200), name: z.string().min(1).max(400) });

export async function consumeDownloads(batch: MessageBatch<unknown>, env: Pick<Env, "DB">): Promise<void> {
  const counts = new Map<string, { repository: string; name: string; count: number }>();
  for (const message of batch.messages) {
    const parsed = messageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(`downloads: dropping a malformed message (${message.id})`);
      continue;
    }
    const { repository, name } = parsed.data;
    const key = `${repository}\u0000${name}`;
    const entry = counts.get(key) ?? { repository, name, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  try {
    await addDownloads(env.DB, counts);
    batch.ackAll();
  } catch (err) {
    console.error(`downloads: could not write ${batch.messages.length} counts, retrying: ${String(err)}`);
    batch.retryAll({ delaySeconds: 10 });
  }
}
