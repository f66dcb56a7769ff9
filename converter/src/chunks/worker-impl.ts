/**
 * Runs in each pipeline worker thread. The request's buffer holds the plain piece; the stored value is written
 * over it (encryptChunkInPlace) and the same buffer is transferred back, so pieces move between threads
 * without copies and the pipeline can recycle its buffers.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort } from "node:worker_threads";
import { threadCpuSeconds } from "./thread-cpu.ts";
import { encryptChunkInPlace, type StageTimes } from "./transform.ts";

/**
 * The only sizeable allocation left per chunk is napi snappy's output buffer (up to ~600 KB). V8 collects such
 * off-heap garbage only once ~64 MB of it has piled up, per isolate, which costs tens of MB of RSS per worker.
 * Collecting explicitly every GC_EVERY bytes of snappy output keeps each worker's garbage small (measured on
 * the 512 MiB benchmark tree: peak RSS of `zhub flist create` 303 MB → 259 MB) for ~4 ms per collection, once
 * per 30-45 chunks. (`--expose-gc` cannot be passed in a worker's execArgv; v8.setFlagsFromString followed by
 * a new context is the known way to reach `gc` at run time.)
 */
const GC_EVERY = 16 * 1024 * 1024;
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
let garbage = 0;

export interface WorkerRequest { id: number; buf: ArrayBuffer; len: number }
export type WorkerReply =
  | { ready: true }
  | { id: number; hash: Uint8Array; key: Uint8Array; buf: ArrayBuffer; length: number; times: StageTimes; cpu: number | undefined }
  | { id: number; error: string; buf: ArrayBuffer };

const port = parentPort;
if (!port) throw new Error("worker-impl.ts must run in a worker thread");

/**
 * This thread's stage totals so far (ms) and its CPU seconds, sent with every reply (the pool keeps the latest of
 * each worker): on a busy machine the timers also count time the thread was preempted, the CPU figure does not.
 */
const times: StageTimes = { hashing: 0, compression: 0, encryption: 0 };

port.on("message", (req: WorkerRequest) => {
  try {
    const { hash, key, length } = encryptChunkInPlace(req.buf, req.len, times);
    garbage += length; // ≈ the size of the snappy output left behind
    if (garbage >= GC_EVERY) {
      garbage = 0;
      gc();
    }
    port.postMessage({ id: req.id, hash, key, buf: req.buf, length, times, cpu: threadCpuSeconds() } satisfies WorkerReply, [req.buf]);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).message, buf: req.buf } satisfies WorkerReply, [req.buf]);
  }
});
port.postMessage({ ready: true } satisfies WorkerReply);
