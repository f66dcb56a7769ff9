/**
 * The chunk store shared by every job and chunk request of this instance, opened on first use. Opening checks
 * that the store answers; when it does not, the caller gets the StoreError (its message names the redacted
 * address) and the next use tries again, so a store that comes back is picked up without a restart. A RESP
 * store replaces dead connections by itself once open.
 */
import { openStore, type ChunkStore } from "../store/index.ts";
import { type ConverterMetrics, meteredStore, timedStoreCall } from "./metrics.ts";

export class SharedStore {
  private opening: Promise<ChunkStore> | undefined;

  /** With `metrics`, every call through the store (and every attempt to open it) is timed and counted. */
  constructor(private readonly url: string, private readonly metrics?: ConverterMetrics) {}

  get(): Promise<ChunkStore> {
    const { metrics } = this;
    const open = () => openStore(this.url, { poolSize: 8 });
    this.opening ??= (metrics ? timedStoreCall(metrics, "open", open).then((store) => meteredStore(store, metrics)) : open()).catch((err: unknown) => {
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
