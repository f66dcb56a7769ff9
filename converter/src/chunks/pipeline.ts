/**
 * The streaming chunk engine that ingestion feeds file by file.
 *
 *   addFile(source) ──cut 512 KiB pieces──▶ worker threads (BLAKE2b / snappy / XXTEA)
 *        │                                       │
 *        │ resolves when the source is read     ▼
 *        │ and its pieces are queued       dedup: same hash earlier in this run → share its result;
 *        ▼                                  otherwise batched EXISTS → put only the missing ones
 *   { blocks }  settles when all of the file's pieces are stored (or known to be)
 *
 * Memory is bounded by `maxInFlight` pieces whatever the input size: addFile waits for a free slot before
 * cutting the next piece. The reader therefore never waits for the encryption of one file before reading the
 * next, only for capacity. Each piece travels in one recycled SharedArrayBuffer of MAX_STORED_SIZE bytes (a
 * slot): filled with the plain bytes here, a worker writes the stored value over them, it is written to the
 * store, then reused. Only the slot number and the hashes cross threads, so steady state allocates (and leaves
 * for the GC) almost nothing per chunk.
 *
 * Errors: a store or worker failure fails the whole pipeline: `finish()`, every pending `blocks` and every
 * later `addFile` reject with it (a StoreError names the redacted store address). An error of one `source`
 * only rejects that file.
 */
import { availableParallelism } from "node:os";
import type { Block } from "../flist/model.ts";
import type { ChunkStore } from "../store/types.ts";
import { CHUNK_SIZE, hex, MAX_STORED_SIZE, type StageTimes } from "./transform.ts";
import { WorkerPool, type EncryptedPiece } from "./workers.ts";

export interface PipelineOptions {
  /** Worker threads (default: os.availableParallelism()). */
  threads?: number;
  /** Pieces read but not yet stored, at most (default 4 per thread, within 16..64: ≤ 40 MB of buffers). */
  maxInFlight?: number;
  /** Keys per EXISTS batch (default 64). */
  existsBatch?: number;
  /**
   * Chunk hashes remembered for in-run dedup (default 200,000, about 30 MB). Older ones are forgotten so memory
   * does not grow with the input; a repeat of a forgotten piece costs one EXISTS (the store dedups anyway).
   */
  rememberHashes?: number;
}

export interface PipelineStats {
  /** Pieces processed (one per block of every file). */
  chunks: number;
  /** Values written to the store. */
  written: number;
  /** Pieces not written: already in the store, or repeated earlier in this run. */
  skipped: number;
  /** Plain bytes read from the sources. */
  bytesIn: number;
  /** Bytes of the values written. */
  bytesStored: number;
}

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export class ChunkPipeline {
  private readonly pool: WorkerPool;
  private readonly maxInFlight: number;
  private readonly existsBatch: number;
  private readonly rememberHashes: number;
  private inFlight = 0;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Store state per chunk hash (hex) seen in this run: identical pieces are stored once. */
  private readonly seen = new Map<string, Promise<void>>();
  private pendingExists: { chunk: EncryptedPiece; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Piece buffers by slot (at most maxInFlight), and the slots not in use. */
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly idle: number[] = [];
  private existsScheduled = false;
  private readonly tasks = new Set<Promise<unknown>>();
  private failure: Error | null = null;
  private finished = false;
  private readonly stats: PipelineStats = { chunks: 0, written: 0, skipped: 0, bytesIn: 0, bytesStored: 0 };

  constructor(private readonly store: ChunkStore, opts: PipelineOptions = {}) {
    const threads = opts.threads ?? availableParallelism();
    this.pool = new WorkerPool(threads);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? Math.min(64, Math.max(16, threads * 4)));
    this.existsBatch = Math.max(1, opts.existsBatch ?? 64);
    this.rememberHashes = Math.max(1, opts.rememberHashes ?? 200_000);
  }

  /**
   * Reads `source` to its end, cutting it into 512 KiB pieces (the last one shorter; an empty file has none),
   * and resolves once every piece is queued. `blocks` resolves, in file order, when all of them are stored.
   */
  async addFile(source: ByteSource): Promise<{ blocks: Promise<Block[]> }> {
    if (this.failure) throw this.failure;
    if (this.finished) throw new Error("chunk pipeline: addFile after finish()");
    const pieces: Promise<Block>[] = [];
    let parts: Uint8Array[] = [];
    let have = 0;
    const emit = async (len: number) => {
      await this.acquire();
      // One copy per byte, into a recycled buffer shared with the workers.
      const slot = this.idle.pop() ?? this.slots.push(new SharedArrayBuffer(MAX_STORED_SIZE)) - 1;
      const piece = new Uint8Array(this.slots[slot]!);
      let off = 0;
      const rest: Uint8Array[] = [];
      for (const p of parts) {
        const take = Math.min(p.length, len - off);
        piece.set(take === p.length ? p : p.subarray(0, take), off);
        off += take;
        if (take < p.length) rest.push(p.subarray(take));
      }
      parts = rest;
      have -= len;
      pieces.push(this.process(slot, len));
    };
    // If `source` throws, the error propagates from here: pieces already queued still complete (their chunks
    // are valid and finish() waits for them); only this file failed.
    for await (const data of source) {
      if (this.failure) throw this.failure;
      if (data.length === 0) continue;
      this.stats.bytesIn += data.length;
      parts.push(data);
      have += data.length;
      while (have >= CHUNK_SIZE) await emit(CHUNK_SIZE);
    }
    if (have > 0) await emit(have);
    const blocks = Promise.all(pieces);
    blocks.catch(() => {}); // the caller gets the rejection; no unhandled-rejection noise if it looks later
    return { blocks };
  }

  /** CPU seconds the workers spent hashing, compressing, encrypting and otherwise, so far (complete after finish()). */
  stageSeconds(): StageTimes & { overhead: number } {
    return this.pool.stageSeconds();
  }

  /** Waits until every piece is stored, stops the workers and returns the counters. */
  async finish(): Promise<PipelineStats> {
    this.finished = true;
    try {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
      if (this.failure) throw this.failure;
      return { ...this.stats };
    } finally {
      await this.pool.close();
    }
  }

  /** Stops everything now (e.g. the ingestion failed); pending work and `finish()` reject with `reason`. */
  async abort(reason: Error = new Error("chunk pipeline aborted")): Promise<void> {
    this.fail(reason);
    this.finished = true;
    await this.pool.close(reason);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
    for (const p of this.pendingExists.splice(0)) p.reject(e);
  }

  private acquire(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({
      resolve: () => { this.inFlight++; resolve(); },
      reject,
    }));
  }

  private release(): void {
    this.inFlight--;
    const next = this.waiters.shift();
    if (next) next.resolve();
  }

  private process(slot: number, len: number): Promise<Block> {
    this.stats.chunks++;
    const task = (async () => {
      let chunk: EncryptedPiece | null = null;
      try {
        chunk = await this.pool.encrypt(slot, this.slots[slot]!, len);
        await this.storeOnce(chunk);
        return { hash: chunk.hash, key: chunk.key };
      } catch (e) {
        this.fail(e as Error);
        throw this.failure ?? e;
      } finally {
        // The store has finished with the value (put resolved, or it was not needed): recycle the buffer.
        if (chunk && !this.failure) this.idle.push(slot);
        this.release();
      }
    })();
    this.tasks.add(task);
    const done = () => { this.tasks.delete(task); };
    task.then(done, done);
    return task;
  }

  private storeOnce(chunk: EncryptedPiece): Promise<void> {
    const id = hex(chunk.hash);
    const earlier = this.seen.get(id);
    if (earlier) {
      this.stats.skipped++;
      return earlier;
    }
    const stored = new Promise<void>((resolve, reject) => {
      this.pendingExists.push({ chunk, resolve, reject });
      if (this.pendingExists.length >= this.existsBatch) this.flushExists();
      else if (!this.existsScheduled) {
        // Gather the pieces that finish around the same time into one round trip.
        this.existsScheduled = true;
        setImmediate(() => { this.existsScheduled = false; this.flushExists(); });
      }
    });
    stored.catch(() => {});
    this.seen.set(id, stored);
    // Map iteration order is insertion order: drop the oldest.
    if (this.seen.size > this.rememberHashes) this.seen.delete(this.seen.keys().next().value!);
    return stored;
  }

  private flushExists(): void {
    const batch = this.pendingExists.splice(0);
    if (batch.length === 0) return;
    const run = (async () => {
      try {
        const present = await this.store.exists(batch.map((b) => b.chunk.hash));
        await Promise.all(batch.map(async ({ chunk, resolve, reject }, i) => {
          try {
            if (present[i]) {
              this.stats.skipped++;
            } else {
              await this.store.put(chunk.hash, new Uint8Array(chunk.buf, 0, chunk.length));
              this.stats.written++;
              this.stats.bytesStored += chunk.length;
            }
            resolve();
          } catch (e) {
            reject(e as Error);
          }
        }));
      } catch (e) {
        for (const b of batch) b.reject(e as Error);
      }
    })();
    this.tasks.add(run);
    run.finally(() => this.tasks.delete(run));
  }
}
