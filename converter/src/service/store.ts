/**
 * The chunk store shared by every job and chunk request of this instance, opened on first use. Opening checks
 * that the store answers; when it does not, the caller gets the StoreError (its message names the redacted
 * address) and the next use tries again, so a store that comes back is picked up without a restart. A RESP
 * store replaces dead connections by itself once open.
 */
import { openStore, type ChunkStore } from "../store/index.ts";

export class SharedStore {
  private opening: Promise<ChunkStore> | undefined;

  constructor(private readonly url: string) {}

  get(): Promise<ChunkStore> {
    this.opening ??= openStore(this.url, { poolSize: 8 }).catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }
}
