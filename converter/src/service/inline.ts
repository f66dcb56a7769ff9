/**
 * A job's input sent inline with `POST /jobs` (docs/jobs-protocol.md "Streamed uploads"): the Worker streams the
 * client's upload to R2 and here at the same time, so the conversion overlaps the upload. The request body is
 * the archive, of a declared size.
 *
 * What makes it safe: the job may only publish once the whole declared byte count arrived (`complete`); when the
 * stream breaks off, the attempt stops quietly (no `fail`), because only the Worker knows whether the client's
 * upload broke (it fails the job) or only this branch did (it dispatches the job again from its R2 copy).
 */
import { PassThrough, type Readable } from "node:stream";

/** The inline input broke off before its declared size: the Worker decides what becomes of the job. */
export class InlineInputBroken extends Error {
  override name = "InlineInputBroken";
}

export class InlineInput {
  private received = 0;
  private ended = false;
  private readonly pass = new PassThrough({ highWaterMark: 1024 * 1024 });
  /** True once the whole declared size arrived, false when the stream broke off (settles once). */
  readonly settled: Promise<boolean>;

  constructor(
    /** The request body (the Node request under the Node adapter). */
    private readonly req: Readable,
    readonly size: number,
  ) {
    let settle!: (complete: boolean) => void;
    this.settled = new Promise((resolve) => (settle = resolve));
    // The pipe and the byte count are attached together, now: a `data` listener alone would start the flow and
    // lose what arrives before the engine reads. The pipe holds the request back while the engine is busy.
    req.pipe(this.pass);
    // The engine sees a break-off through its own reads; an input never read (refused, job stopped before it
    // started) must not take the process down with an unhandled 'error'.
    this.pass.on("error", () => undefined);
    req.on("data", (chunk: Buffer) => (this.received += chunk.length));
    req.on("end", () => {
      this.ended = true;
      settle(this.received === size);
    });
    req.on("error", () => settle(false));
    req.on("close", () => settle(this.ended && this.received === size));
    void this.settled.then((complete) => {
      // A break-off reaches the engine as an error, never as a clean, short end.
      if (!complete) this.pass.destroy(new InlineInputBroken(`the inline input broke off after ${this.received} of ${size} bytes`));
    });
  }

  get bytes(): number {
    return this.received;
  }

  /** The body for the engine. */
  stream(): Readable {
    return this.pass;
  }

  /**
   * Reads what the engine left (a tar's trailing padding, or everything after an archive error) and answers
   * whether the whole declared size arrived: only then is a result or an archive error the input's own.
   */
  drain(): Promise<boolean> {
    this.req.unpipe(this.pass);
    this.pass.resume();
    this.req.resume();
    return this.settled;
  }

  /** The attempt stopped (stale, shutdown): the Worker's write fails and it falls back to its R2 copy. */
  abandon(): void {
    if (!this.ended) this.req.destroy();
  }
}
