/**
 * `flist` jobs (docs/compatibility.md §5.2, homemade flist upload): the uploaded `.flist` is read completely (structure
 * check), every chunk it references must be in the store, and then the uploaded bytes are published unchanged
 * (whatever `backend` the uploader set stays, as in the original).
 */
import path from "node:path";
import { findMissing } from "../../chunks/verify.ts";
import { readFlist, type Block, type DirNode } from "../../flist/index.ts";
import type { JobContext } from "../context.ts";
import { JobFailure } from "../errors.ts";
import { FLIST_READ_LIMITS, MAX_FLIST_BYTES, saveDownload } from "../files.ts";
import type { FlistJob } from "../spec.ts";
import { publish } from "./publish.ts";

/** The original hub's answer when chunks are missing (`api_flist_upload`), kept word for word. */
export const MISSING_CHUNKS_MESSAGE = "unauthorized upload, contents is not fully present on backend";

export function allBlocks(root: DirNode): Block[] {
  const blocks: Block[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of (stack.pop() as DirNode).children) {
      if (child.kind === "file") for (const b of child.blocks) blocks.push(b);
      else if (child.kind === "dir") stack.push(child);
    }
  }
  return blocks;
}

export async function runFlist(ctx: JobContext, spec: FlistJob): Promise<void> {
  const store = await ctx.store();
  const flistPath = path.join(ctx.tmpDir, "upload.flist");
  await saveDownload(await ctx.hub.input(spec.id, ctx.signal), flistPath, MAX_FLIST_BYTES, "the uploaded flist");

  const tree = await readFlist(flistPath, FLIST_READ_LIMITS);
  const blocks = allBlocks(tree.root);
  ctx.events.update(`Verifying: ${blocks.length} chunks`, 50);
  const missing = await findMissing(store, blocks.map((b) => b.hash));
  if (missing.length > 0) {
    ctx.log(`${missing.length} of the flist's chunks are missing from ${store.description}`);
    throw new JobFailure(MISSING_CHUNKS_MESSAGE);
  }
  await publish(ctx, spec, flistPath, tree);
}
