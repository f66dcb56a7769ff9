/**
 * Runs in each pipeline worker thread: plain piece in (transferred ArrayBuffer), encrypted chunk out (the
 * stored value's buffer transferred back; hash and key are 16 bytes, cloned).
 */
import { parentPort } from "node:worker_threads";
import { encryptChunk } from "./transform.ts";

export interface WorkerRequest { id: number; buf: ArrayBuffer; len: number }
export type WorkerReply =
  | { ready: true }
  | { id: number; hash: Uint8Array; key: Uint8Array; data: Uint8Array }
  | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("worker-impl.ts must run in a worker thread");

port.on("message", (req: WorkerRequest) => {
  try {
    const c = encryptChunk(new Uint8Array(req.buf, 0, req.len));
    const reply: WorkerReply = { id: req.id, hash: c.hash, key: c.key, data: c.data };
    // data is a fresh exact-size buffer from xxteaEncrypt, so it can be handed over without a copy.
    port.postMessage(reply, [c.data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).message } satisfies WorkerReply);
  }
});
port.postMessage({ ready: true } satisfies WorkerReply);
