/** Where the CLI writes, and the error that means "wrong invocation" (exit code 2, usage printed). */
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

function writer(stream: NodeJS.WriteStream): (data: string | Uint8Array) => Promise<void> {
  return (data) =>
    new Promise((resolve, reject) => {
      stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
}

export const processIo: Io = {
  out: writer(process.stdout),
  err: writer(process.stderr),
  stderr: process.stderr,
};
