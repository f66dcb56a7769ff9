/** Reading a file back: its blocks fetched from the store, decrypted, checked and yielded in order. */
import type { Block } from "../flist/model.ts";
import type { ChunkStore } from "../store/types.ts";
import { decryptChunk, hex } from "./transform.ts";

export interface ReadOptions {
  /** Blocks fetched ahead of the one being yielded (default 4). */
  prefetch?: number;
}

export class MissingChunkError extends Error {
  override name = "MissingChunkError";
}

/**
 * Yields the plain bytes of each block in order (concatenated: the file). Every chunk is checked twice:
 * the stored value must hash to `block.hash` (an untrusted store cannot substitute another value) and the
 * plain piece must hash to `block.key` (docs/flist-format.md §3.6). Errors name the block index and chunk.
 */
export async function* readBlocks(store: ChunkStore, blocks: Block[], opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const ahead = Math.max(1, opts.prefetch ?? 4);
  const fetches: Promise<Uint8Array>[] = [];
  const fetchBlock = (i: number): Promise<Uint8Array> => {
    const block = blocks[i]!;
    const p = (async () => {
      const value = await store.get(block.hash);
      if (value === null) {
        throw new MissingChunkError(`block ${i}: chunk ${hex(block.hash)} is missing from ${store.description}`);
      }
      try {
        return decryptChunk(value, block.key, block.hash);
      } catch (e) {
        throw new Error(`block ${i}: ${(e as Error).message} (from ${store.description})`, { cause: e });
      }
    })();
    p.catch(() => {}); // a prefetched failure is reported when its turn comes (or never, if the reader stops)
    return p;
  };
  for (let i = 0; i < blocks.length; i++) {
    while (fetches.length < ahead && i + fetches.length < blocks.length) fetches.push(fetchBlock(i + fetches.length));
    yield await fetches.shift()!;
  }
}
