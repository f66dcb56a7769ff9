/**
 * Runs in each pipeline worker thread. The pipeline's piece buffers are SharedArrayBuffers, each sent to a worker
 * once (with the first request for it) and named by its slot number afterwards: the request's slot holds the
 * plain piece, the stored value is written over it (encryptChunkInPlace), and the reply carries only the hashes.
 * (Transferring an ArrayBuffer back and forth instead costs each side a new buffer object and, to V8, ~600 KB
 * of new external memory per chunk, which drives its garbage collections: docs/benchmarks.md "flist create".)
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
/**
 * A young-generation collection is enough: the snappy buffers die young. It frees them like a full one did (RSS
 * unchanged) at a fraction of the CPU (`gc({ type: "minor" })`, V8's gc extension).
 */
const collect = (): void => gc({ type: "minor" });
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
let garbage = 0;

/**
 * Reading /proc/thread-self costs two system calls and a file parse (~50 µs): once every CPU_EVERY replies, and
 * when the pool asks for the final figures before it stops the workers (`stats`).
 */
const CPU_EVERY = 32;
let replies = 0;

/** `buf`: the slot's buffer, sent with the first request for that slot only. */
export type WorkerRequest = { id: number; slot: number; len: number; buf?: SharedArrayBuffer } | { stats: true };
export type WorkerReply =
  | { ready: true }
  | { id: number; hash: Uint8Array; key: Uint8Array; length: number; times: StageTimes; cpu: number | undefined }
  | { id: number; error: string }
  | { stats: true; times: StageTimes; cpu: number | undefined };

/** The pipeline's buffers by slot, as they were shared with this worker. */
const buffers = new Map<number, SharedArrayBuffer>();

const port = parentPort;
if (!port) throw new Error("worker-impl.ts must run in a worker thread");

/**
 * This thread's stage totals so far (ms) and its CPU seconds, sent with every reply (the pool keeps the latest of
 * each worker): on a busy machine the timers also count time the thread was preempted, the CPU figure does not.
 */
const times: StageTimes = { hashing: 0, compression: 0, encryption: 0 };

port.on("message", (req: WorkerRequest) => {
  if ("stats" in req) {
    port.postMessage({ stats: true, times, cpu: threadCpuSeconds() } satisfies WorkerReply);
    return;
  }
  try {
    if (req.buf) buffers.set(req.slot, req.buf);
    const buf = buffers.get(req.slot);
    if (!buf) throw new Error(`chunk worker: unknown buffer slot ${req.slot}`);
    const { hash, key, length } = encryptChunkInPlace(buf, req.len, times);
    garbage += length; // ≈ the size of the snappy output left behind
    if (garbage >= GC_EVERY) {
      garbage = 0;
      collect();
    }
    const cpu = ++replies % CPU_EVERY === 0 ? threadCpuSeconds() : undefined;
    port.postMessage({ id: req.id, hash, key, length, times, cpu } satisfies WorkerReply);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).message } satisfies WorkerReply);
  }
});
port.postMessage({ ready: true } satisfies WorkerReply);
