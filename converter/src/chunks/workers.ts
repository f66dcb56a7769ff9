/**
 * A fixed pool of worker threads running the chunk transform (BLAKE2b, snappy, XXTEA are CPU-bound; the main
 * thread keeps reading/gunzipping input and talking to the store). Pieces live in the pipeline's shared buffers:
 * each is sent to a worker once, then named by its slot (worker-impl.ts), never copied or transferred.
 */
import { Worker } from "node:worker_threads";
import { chunkWorkerEntry } from "./worker-entry.ts";
import type { StageTimes } from "./transform.ts";
import type { WorkerReply, WorkerRequest } from "./worker-impl.ts";

/** An encrypted piece: the slot's buffer `buf` holds the stored value in its first `length` bytes. */
export interface EncryptedPiece { hash: Uint8Array; key: Uint8Array; buf: SharedArrayBuffer; length: number }

interface Task { req: Extract<WorkerRequest, { id: number }>; buf: SharedArrayBuffer; resolve: (c: EncryptedPiece) => void; reject: (e: Error) => void }

interface Slot {
  worker: Worker;
  ready: boolean;
  running: Map<number, Task>;
  /** Buffer slots this worker has been sent. */
  known: Set<number>;
  /** The worker's stage totals as of its latest reply. */
  times: StageTimes;
  /** The worker thread's CPU seconds as of its latest reading (undefined where /proc is missing). */
  cpu: number | undefined;
  /** Resolves the pending request for the final figures (collectStats). */
  stats?: () => void;
}

/** Tasks handed to one worker ahead of time, so it never idles between a reply and the next request. */
const PER_WORKER = 2;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly closedSlots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private referenced = false;
  /** The workers are being started (their entry module is prepared first, see worker-entry.ts). */
  private starting: Promise<void> | undefined;

  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new Error(`worker pool needs at least one thread, got ${size}`);
  }

  /**
   * Encrypts the `len` plain bytes at the start of `buf` (which must hold MAX_STORED_SIZE bytes), the caller's
   * buffer number `slot` (the same slot must always name the same buffer). The stored value replaces them.
   */
  encrypt(slot: number, buf: SharedArrayBuffer, len: number): Promise<EncryptedPiece> {
    if (this.failure) return Promise.reject(this.failure);
    this.starting ??= this.start().catch((e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { id: this.nextId++, slot, len }, buf, resolve, reject });
      this.pump();
    });
  }

  private async start(): Promise<void> {
    const entry = await chunkWorkerEntry();
    if (this.failure) return; // closed meanwhile
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(entry);
      const slot: Slot = { worker, ready: false, running: new Map(), known: new Set(), times: { hashing: 0, compression: 0, encryption: 0 }, cpu: undefined };
      worker.on("message", (msg: WorkerReply) => this.onMessage(slot, msg));
      worker.on("error", (e) => this.fail(new Error(`chunk worker crashed: ${e.message}`)));
      worker.on("exit", (code) => {
        if (slot.running.size > 0 || this.queue.length > 0) this.fail(new Error(`chunk worker exited (code ${code})`));
      });
      // Referenced only while there is work (see pump), so an idle pool never keeps a process alive; work queued
      // while the entry was prepared already counts.
      if (!this.referenced) worker.unref();
      this.slots.push(slot);
    }
    this.pump();
  }

  private onMessage(slot: Slot, msg: WorkerReply): void {
    if ("ready" in msg) {
      slot.ready = true;
      this.pump();
      return;
    }
    if ("stats" in msg) {
      slot.times = msg.times;
      slot.cpu = msg.cpu;
      slot.stats?.();
      return;
    }
    const task = slot.running.get(msg.id);
    if (!task) return;
    slot.running.delete(msg.id);
    if ("error" in msg) task.reject(new Error(msg.error));
    else {
      slot.times = msg.times;
      if (msg.cpu !== undefined) slot.cpu = msg.cpu;
      task.resolve({ hash: msg.hash, key: msg.key, buf: task.buf, length: msg.length });
    }
    this.pump();
  }

  /**
   * CPU seconds per transform stage summed over the workers (kept after close), plus `overhead`: the rest of the
   * workers' CPU (messages, GC). Each worker's timed stages are scaled down to its real CPU time when they exceed
   * it (time preempted by other processes is not CPU spent).
   */
  stageSeconds(): StageTimes & { overhead: number } {
    const sum = { hashing: 0, compression: 0, encryption: 0, overhead: 0 };
    for (const s of [...this.slots, ...this.closedSlots]) {
      const timed = (s.times.hashing + s.times.compression + s.times.encryption) / 1000;
      const cpu = s.cpu ?? timed;
      const scale = timed > cpu && timed > 0 ? cpu / timed : 1;
      sum.hashing += (s.times.hashing / 1000) * scale;
      sum.compression += (s.times.compression / 1000) * scale;
      sum.encryption += (s.times.encryption / 1000) * scale;
      sum.overhead += Math.max(0, cpu - timed * scale);
    }
    return sum;
  }

  private pump(): void {
    for (const slot of this.slots) {
      while (slot.ready && slot.running.size < PER_WORKER && this.queue.length > 0) {
        const task = this.queue.shift()!;
        slot.running.set(task.req.id, task);
        const first = !slot.known.has(task.req.slot);
        if (first) slot.known.add(task.req.slot);
        slot.worker.postMessage(first ? { ...task.req, buf: task.buf } : task.req);
      }
    }
    // While work is queued or running the workers must keep the event loop alive (the caller may be awaiting
    // nothing else); once idle they must not.
    const busy = this.queue.length > 0 || this.slots.some((s) => s.running.size > 0);
    if (busy !== this.referenced) {
      this.referenced = busy;
      for (const s of this.slots) busy ? s.worker.ref() : s.worker.unref();
    }
  }

  private fail(e: Error): void {
    void this.close(e);
  }

  /**
   * Asks every idle worker for its final stage times and CPU (they read their CPU only now and then), so that
   * stageSeconds() is complete; a worker that does not answer within a second keeps its latest figures.
   */
  private async collectStats(): Promise<void> {
    await Promise.all(
      this.slots
        .filter((s) => s.ready && s.running.size === 0)
        .map((s) => new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          s.stats = () => {
            clearTimeout(timer);
            resolve();
          };
          s.worker.postMessage({ stats: true } satisfies WorkerRequest);
        })),
    );
  }

  /** Stops the workers; work still queued or running rejects with `reason`. */
  async close(reason: Error = new Error("chunk workers stopped")): Promise<void> {
    if (!this.failure && this.queue.length === 0) await this.collectStats();
    this.failure ??= reason;
    for (const t of this.queue.splice(0)) t.reject(this.failure);
    for (const s of this.slots) {
      for (const t of s.running.values()) t.reject(this.failure);
      s.running.clear();
    }
    await this.starting; // workers being created now are terminated too
    const slots = this.slots.splice(0);
    this.closedSlots.push(...slots);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
