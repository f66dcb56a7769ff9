/**
 * `tar` jobs (docs/compatibility.md §5.1): the staged `.tar`/`.tar.gz` streams from the Worker straight into the engine
 * (no copy of the archive on disk or in memory), chunks go to the store while the archive is read, then the
 * flist gets the upload's metadata fields and the public backend, and is published.
 */
import path from "node:path";
import { PROTECTED_METADATA } from "../../../../protocol/metadata.ts";
import { writeFlist } from "../../flist/index.ts";
import { ingestArchive, type IngestProgress } from "../../ingest/index.ts";
import type { JobContext } from "../context.ts";
import type { EventReporter } from "../events.ts";
import { HubError } from "../hub.ts";
import { InlineInputBroken, type InlineInput } from "../inline.ts";
import type { TarJob } from "../spec.ts";
import { publish } from "./publish.ts";
import { paced } from "../../streams/paced.ts";

/** Keys the hub sets itself; an upload's `metadata-<key>` fields cannot override them (docs/compatibility.md §5.1). */
export { PROTECTED_METADATA };

/**
 * `Building: processing item <n> of <m>` with an integer percentage, sent only when the percentage changes (as
 * the original hub relayed zflist's progress). The archive is read once, as a stream, so the number of entries is
 * not known in advance: the percentage is the share of the archive's bytes read (exact), and `m` is estimated
 * from the entries seen per byte so far; the last event gives the real count.
 */
export class BuildProgress {
  private lastPercent = -1;
  /** The `m` last shown: kept while new estimates stay within 25% of it, so the total does not flap. */
  private shownTotal = 0;

  constructor(
    private readonly events: EventReporter,
    private readonly totalBytes: number | undefined,
  ) {}

  onProgress(p: IngestProgress): void {
    // Nothing to say before the first entry ("item 0 of 0").
    if (!this.totalBytes || p.sourceBytes === 0 || p.entries === 0) return;
    // Capped at 99: 100 means the flist is complete.
    const percent = Math.min(99, Math.floor((p.sourceBytes * 100) / this.totalBytes));
    if (percent === this.lastPercent) return;
    this.lastPercent = percent;
    const estimate = Math.max(p.entries, Math.round((p.entries * this.totalBytes) / p.sourceBytes));
    if (this.shownTotal < p.entries || Math.abs(estimate - this.shownTotal) > this.shownTotal / 4) this.shownTotal = estimate;
    this.events.update(`Building: processing item ${p.entries} of ${this.shownTotal}`, percent);
  }

  done(entries: number): void {
    this.lastPercent = 100;
    this.events.update(`Building: processing item ${entries} of ${entries}`, 100);
  }
}

function brokenOff(inline: InlineInput): InlineInputBroken {
  return new InlineInputBroken(`the inline input broke off after ${inline.bytes} of ${inline.size} bytes`);
}

export async function runTar(ctx: JobContext, spec: TarJob): Promise<void> {
  const store = await ctx.store();
  const inline = ctx.input;
  // A streamed upload's archive arrives inline with the job (service/inline.ts); otherwise it is read from R2
  // through the Worker.
  const input = inline ? { body: inline.stream(), size: inline.size } : await ctx.hub.input(spec.id, ctx.signal);
  // A failure of the download itself (the hub went away mid-stream) is not the archive's fault: say so.
  let inputError: Error | undefined;
  input.body.on("error", (err) => (inputError ??= err));
  const abort = () => input.body.destroy(ctx.signal.reason as Error);
  ctx.signal.addEventListener("abort", abort, { once: true });

  const progress = new BuildProgress(ctx.events, input.size);
  const rate = ctx.config.testInputBytesPerSecond;
  let result;
  try {
    result = await ingestArchive(rate !== undefined ? paced(input.body, rate) : input.body, {
      store,
      backend: ctx.config.backend,
      ...(ctx.config.threads !== undefined ? { threads: ctx.config.threads } : {}),
      caps: ctx.config.caps,
      onProgress: (p) => progress.onProgress(p),
    });
  } catch (err) {
    // Inline: an archive error counts only if the whole archive arrived (the rest is read to know); a stream
    // that broke off is for the Worker to judge.
    if (inline && !ctx.signal.aborted && !(await inline.drain())) throw brokenOff(inline);
    if (inputError && !ctx.signal.aborted) throw new HubError(`reading the job input from the hub failed (${inputError.message})`);
    throw err;
  } finally {
    ctx.signal.removeEventListener("abort", abort);
  }
  // Never publish from an inline stream short of its declared size (the Worker also refuses the publish until
  // its R2 copy is complete).
  if (inline && !(await inline.drain())) throw brokenOff(inline);
  const { tree, stats } = result;
  progress.done(stats.entries);

  // The upload's metadata fields, stored raw as `zflist metadata <key> <value>` does (the Worker already dropped
  // the protected keys; checked again here because a flist's backend must be the hub's).
  for (const [key, value] of Object.entries(spec.metadata)) {
    if (!PROTECTED_METADATA.has(key)) tree.metadata.set(key, value);
  }

  const flistPath = path.join(ctx.tmpDir, "result.flist");
  await writeFlist(tree, flistPath);
  ctx.log(`converted ${stats.entries} entries, ${stats.fileBytes} bytes (${stats.regular} files) from ${stats.sourceBytes} archive bytes`);
  await publish(ctx, spec, flistPath, tree);
}
