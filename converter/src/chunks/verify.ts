/** Which chunks of a flist are missing from a store: what the hub runs on an uploaded flist. */
import type { ChunkStore } from "../store/types.ts";
import { hex } from "./transform.ts";

export interface FindMissingOptions {
  /** Keys per exists() call (one pipelined round trip per connection; default 1000). */
  batch?: number;
  /** exists() calls in flight at once (default 4). */
  parallel?: number;
}

/**
 * The keys (store keys = FileBlock.hash) absent from `store`, each once, in order of first appearance.
 * Flists reference the same chunk many times (repeated pieces, hardlinks), so duplicates are asked once.
 */
export async function findMissing(store: ChunkStore, keys: Uint8Array[], opts: FindMissingOptions = {}): Promise<Uint8Array[]> {
  const batch = Math.max(1, opts.batch ?? 1000);
  const parallel = Math.max(1, opts.parallel ?? 4);
  const unique = new Map<string, Uint8Array>();
  for (const k of keys) {
    const id = hex(k);
    if (!unique.has(id)) unique.set(id, k);
  }
  const list = [...unique.values()];
  const present = new Array<boolean>(list.length);
  let next = 0;
  const lane = async () => {
    while (next < list.length) {
      const start = next;
      next += batch;
      const found = await store.exists(list.slice(start, start + batch));
      found.forEach((f, i) => { present[start + i] = f; });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.ceil(list.length / batch)) }, lane));
  return list.filter((_, i) => !present[i]);
}
