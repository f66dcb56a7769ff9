/** The last step of every pipeline: hand the flist, its listing, its entries' types and its metadata to the Worker. */
import { contentsListing, entryTypes, metadataObject, type FlistTree } from "../../flist/index.ts";
import type { JobContext } from "../context.ts";
import type { JobSpec } from "../spec.ts";

export const READY_MESSAGE = "Image ready !";

export async function publish(ctx: JobContext, spec: JobSpec, flistPath: string, tree: FlistTree): Promise<void> {
  // The original hub's last update before the final `info` event (docs/compatibility.md §5.5), then every event is out
  // before the publish, so the Worker's `info` event comes last in the log.
  ctx.events.update(READY_MESSAGE, 100);
  await ctx.events.flush();
  const result = await ctx.hub.publish(
    spec.id,
    spec.attempt,
    spec.repository,
    spec.name,
    flistPath,
    { contents: contentsListing(tree), metadata: metadataObject(tree), entries: entryTypes(tree) },
    ctx.signal,
  );
  ctx.log(`published ${spec.repository}/${result.name ?? spec.name} (${result.size ?? "?"} bytes, sha256 ${result.sha256 ?? "?"})`);
}
