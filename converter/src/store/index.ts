/** Chunk stores chosen by URL: `zdb://`, `redis://`, `file://` (see ./url.ts). */
import { FileStore } from "./file.ts";
import { RespStore } from "./resp.ts";
import type { ChunkStore, StoreOptions } from "./types.ts";
import { parseStoreUrl } from "./url.ts";

export { StoreError, type ChunkStore, type StoreOptions } from "./types.ts";
export { parseStoreUrl, redactUrl } from "./url.ts";

/** Opens a store and checks that it is reachable and accepts our credentials/namespace. */
export async function openStore(url: string, opts: StoreOptions = {}): Promise<ChunkStore> {
  const parsed = parseStoreUrl(url);
  if (parsed.kind === "file") return FileStore.open(parsed.dir, parsed.description);
  return RespStore.open(parsed, opts);
}
