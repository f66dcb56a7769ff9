/**
 * `merge` jobs (docs/compatibility.md §5.3): the sources are downloaded from the hub (by sha256 when pinned), merged with
 * zflist's semantics (the first wins on every name; the result keeps the first flist's metadata) and published.
 */
import path from "node:path";
import { mergeAll, readFlist, writeFlist, type FlistTree } from "../../flist/index.ts";
import type { JobContext } from "../context.ts";
import { JobFailure } from "../errors.ts";
import { HubError } from "../hub.ts";
import { FLIST_READ_LIMITS, MAX_FLIST_BYTES, saveDownload } from "../files.ts";
import type { MergeJob } from "../spec.ts";
import { publish } from "./publish.ts";

export async function runMerge(ctx: JobContext, spec: MergeJob): Promise<void> {
  const trees: FlistTree[] = [];
  for (const [i, source] of spec.sources.entries()) {
    const label = `${source.repository}/${source.name}`;
    ctx.events.update(`Merging: reading ${label} (${i + 1} of ${spec.sources.length})`, Math.floor((i * 90) / spec.sources.length));
    const file = path.join(ctx.tmpDir, `source-${i}.flist`);
    try {
      // By content address when the Worker pinned the source: a re-dispatched merge merges the same bytes even if
      // the name was republished meanwhile.
      const download = source.sha256
        ? await ctx.hub.blob(source.sha256, ctx.signal)
        : await ctx.hub.download(source.repository, source.name, ctx.signal);
      const sha256 = await saveDownload(download, file, MAX_FLIST_BYTES, `source ${label}`);
      if (source.sha256 && sha256 !== source.sha256) throw new JobFailure(`source ${label}: downloaded bytes do not match sha256 ${source.sha256}`);
    } catch (err) {
      if (err instanceof HubError && err.status === 404) throw new JobFailure(`source ${label} not found`);
      throw err;
    }
    try {
      trees.push(await readFlist(file, FLIST_READ_LIMITS));
    } catch (err) {
      throw new JobFailure(`source ${label} is not a valid flist: ${(err as Error).message}`);
    }
  }
  ctx.events.update("Merging: writing the flist", 90);
  const merged = mergeAll(trees);
  const out = path.join(ctx.tmpDir, "merged.flist");
  await writeFlist(merged, out);
  await publish(ctx, spec, out, merged);
}
