/**
 * Reads a request body in large pieces. workerd hands a request body out in 4 KiB pieces; a loop that writes each
 * piece somewhere (R2, the converter) pays a turn and a write per piece, ~90,000 of them for a 375 MB archive.
 * A BYOB reader's `readAtLeast` (a workerd extension) gathers `bytes` per read instead. A body that is not a byte
 * stream (one made in JS) is read as it comes.
 */
import { DRAIN_MAX } from "./drain";
export interface BigReader {
  /** The next piece (at most `bytes`, the last one shorter), or undefined at the end. */
  read(): Promise<Uint8Array | undefined>;
  cancel(reason: string): Promise<void>;
  /**
   * Reads and drops the rest (at most `maxBytes`, then cancels): an HTTP/1.1 connection whose request body was not
   * read cannot carry the next request (http/drain.ts says more).
   */
  drain(maxBytes: number): Promise<void>;
}

/** workerd's BYOB reader (tsconfig's WebWorker lib hides the workers-types declaration of `readAtLeast`). */
type WorkerdByobReader = ReadableStreamBYOBReader & {
  readAtLeast<T extends ArrayBufferView>(minBytes: number, view: T): Promise<ReadableStreamReadResult<T>>;
};

export function bigReads(body: ReadableStream<Uint8Array>, bytes: number): BigReader {
  let byob: WorkerdByobReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" }) as WorkerdByobReader;
  } catch {
    byob = undefined; // not a byte stream
  }
  if (byob === undefined) {
    const reader = body.getReader();
    return withDrain({
      read: async () => (await reader.read()).value,
      cancel: (reason) => reader.cancel(reason),
    });
  }
  const reader = byob;
  return withDrain({
    async read() {
      for (;;) {
        // A fresh buffer per read: the previous piece may still be queued in a destination stream.
        const { done, value } = await reader.readAtLeast(bytes, new Uint8Array(bytes));
        if (value !== undefined && value.byteLength > 0) return value;
        if (done) return undefined;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function withDrain(reader: Omit<BigReader, "drain">): BigReader {
  return {
    ...reader,
    async drain(maxBytes) {
      try {
        for (let read = 0; read <= maxBytes; ) {
          const piece = await reader.read();
          if (piece === undefined) return;
          read += piece.byteLength;
        }
        await reader.cancel("request body too large to drain");
      } catch {
        // The client went away: nothing left to drain.
      }
    },
  };
}

/** Pieces of a streamed PUT body: each costs a hashing call and a write, so few large ones beat many 4 KiB ones. */
const BODY_PIECE_BYTES = 1024 * 1024;

/** The chunks of a request body of known length (a streamed PUT), gathered in large pieces. */
export async function* bodyChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = bigReads(body, BODY_PIECE_BYTES);
  let finished = false;
  try {
    for (let piece = await reader.read(); piece !== undefined; piece = await reader.read()) yield piece;
    finished = true;
  } finally {
    if (!finished) await reader.drain(DRAIN_MAX);
  }
}
