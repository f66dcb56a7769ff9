/** Where the CLI writes, and the error that means "wrong invocation" (exit code 2, usage printed). */
import { exitForClosedStdout, isClosedPipe } from "./pipes.ts";

export interface Io {
  /** Writes to stdout, resolving once the data is handed to the OS (backpressure for `cat`). */
  out(data: string | Uint8Array): Promise<void>;
  err(text: string): Promise<void>;
  /** For progress output (a bar when it is a terminal). */
  stderr: NodeJS.WriteStream;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** `onClosed`: what a closed pipe (EPIPE, see pipes.ts) means for this stream; the write then counts as done. */
function writer(stream: NodeJS.WriteStream, onClosed: () => void): (data: string | Uint8Array) => Promise<void> {
  return (data) =>
    new Promise((resolve, reject) => {
      stream.write(data, (err) => {
        if (!err) return resolve();
        if (!isClosedPipe(err)) return reject(err);
        onClosed();
        resolve();
      });
    });
}

export const processIo: Io = {
  out: writer(process.stdout, exitForClosedStdout),
  err: writer(process.stderr, () => {}),
  stderr: process.stderr,
};
