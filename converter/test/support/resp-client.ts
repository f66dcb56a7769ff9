/**
 * A raw RESP2 client for protocol tests: sends one request at a time (or raw bytes) and returns the reply exactly
 * as the server wrote it, so two servers' answers can be compared byte for byte.
 */
import net from "node:net";

/** One request as RESP2 multibulk bytes. */
export function encodeRequest(args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a, "latin1") : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Length of the first complete reply in `b`, or -1 when more bytes are needed. */
function replyLength(b: Buffer, at = 0): number {
  const end = b.indexOf("\r\n", at);
  if (end < 0) return -1;
  const kind = String.fromCharCode(b[at]!);
  const head = b.subarray(at + 1, end).toString("latin1");
  if (kind === "+" || kind === "-" || kind === ":") return end + 2 - at;
  if (kind === "$") {
    const n = Number(head);
    if (n < 0) return end + 2 - at;
    return b.length >= end + 2 + n + 2 ? end + 4 + n - at : -1;
  }
  if (kind === "*") {
    let pos = end + 2;
    for (let i = 0; i < Number(head); i++) {
      const len = replyLength(b, pos);
      if (len < 0) return -1;
      pos += len;
    }
    return pos - at;
  }
  throw new Error(`not a RESP reply: ${JSON.stringify(b.subarray(at, at + 40).toString("latin1"))}`);
}

export class RawResp {
  private buffer = Buffer.alloc(0);
  private waiting: ((reply: Buffer | null) => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.deliver();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.deliver();
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawResp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off("error", reject);
        resolve(new RawResp(socket));
      });
      socket.once("error", reject);
    });
  }

  private deliver(): void {
    if (!this.waiting) return;
    const len = this.buffer.length > 0 ? replyLength(this.buffer) : -1;
    if (len >= 0) {
      const reply = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      const w = this.waiting;
      this.waiting = null;
      w(reply);
    } else if (this.closed) {
      const w = this.waiting;
      this.waiting = null;
      w(null);
    }
  }

  /** The next reply, or null when the server closed the connection first. */
  next(timeoutMs = 5000): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.deliver();
    });
  }

  /** Sends one request and returns its reply as written (null: connection closed without one). */
  async call(...args: (string | Uint8Array)[]): Promise<Buffer | null> {
    this.socket.write(encodeRequest(args));
    return this.next();
  }

  /** Sends raw bytes (no framing) and returns the next reply. */
  async raw(bytes: Buffer | string): Promise<Buffer | null> {
    this.socket.write(bytes);
    return this.next();
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Resolves true once the server has closed the connection (within `timeoutMs`), false otherwise. */
  async closedByServer(timeoutMs = 2000): Promise<boolean> {
    if (this.closed) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
