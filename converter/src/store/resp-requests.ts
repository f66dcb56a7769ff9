/**
 * Incremental reader of RESP2 requests (`*<n>\r\n` then n `$<len>\r\n<bytes>\r\n`), as a 0-db server receives
 * them. Bulk arguments are copied straight into a buffer of their declared size, so a value arriving in many TCP
 * pieces is assembled once (no growing concatenation). The limits and the error texts are 0-db 2.0.7's (observed
 * replies in docs/zdb.md): at most 1024 arguments, 8 MiB per argument, requests only as arrays.
 */

/** 0-db's limit on one argument (`zdbd/redis.h`): larger payloads are refused and the connection closed. */
export const MAX_ARGUMENT_BYTES = 8 * 1024 * 1024;
/** 0-db's limit on the arguments of one request. */
export const MAX_ARGUMENTS = 1024;
/** Longest header line we wait for (`*1024`, `$8388608`): anything longer is not RESP. */
const MAX_LINE = 32;

/** A request the stream cannot recover from: answered with `message` (0-db's text), then the connection closes. */
export class RespProtocolError extends Error {}

type State =
  | { at: "array" }
  | { at: "bulk-header"; args: Buffer[]; count: number }
  | { at: "bulk-body"; args: Buffer[]; count: number; value: Buffer; filled: number };

export class RequestReader {
  private state: State = { at: "array" };
  /** Bytes of a header line not yet terminated by CRLF. */
  private line: Buffer = Buffer.alloc(0);

  /**
   * Feeds bytes; returns the complete requests they end (argument arrays) and, when a request breaks the protocol
   * or 0-db's limits, the error that ends the stream (nothing after it is read).
   */
  push(data: Buffer): { requests: Buffer[][]; error: RespProtocolError | null } {
    const requests: Buffer[][] = [];
    try {
      this.read(data, requests);
    } catch (err) {
      if (!(err instanceof RespProtocolError)) throw err;
      return { requests, error: err };
    }
    return { requests, error: null };
  }

  private read(data: Buffer, out: Buffer[][]): void {
    let pos = 0;
    while (pos < data.length) {
      const state = this.state;
      if (state.at === "bulk-body") {
        // The value plus its trailing CRLF.
        const want = state.value.length + 2 - state.filled;
        const take = Math.min(want, data.length - pos);
        const valueLeft = state.value.length - state.filled;
        if (valueLeft > 0) data.copy(state.value, state.filled, pos, pos + Math.min(take, valueLeft));
        state.filled += take;
        pos += take;
        if (state.filled === state.value.length + 2) {
          state.args.push(state.value);
          this.state = { at: "bulk-header", args: state.args, count: state.count };
          this.finishIfComplete(out);
        }
        continue;
      }
      const end = data.indexOf(10, pos); // LF
      if (end < 0) {
        this.line = Buffer.concat([this.line, data.subarray(pos)]);
        if (this.line.length > MAX_LINE) throw this.malformed(state);
        break;
      }
      let text = Buffer.concat([this.line, data.subarray(pos, end)]);
      this.line = Buffer.alloc(0);
      pos = end + 1;
      if (text.length > MAX_LINE + 1) throw this.malformed(state);
      if (text[text.length - 1] === 13) text = text.subarray(0, -1);
      this.header(text.toString("latin1"));
    }
  }

  private malformed(state: State): RespProtocolError {
    return new RespProtocolError(state.at === "array" ? "Malformed request, array expected" : "Malformed query string");
  }

  private header(text: string): void {
    const state = this.state;
    if (state.at === "array") {
      if (!text.startsWith("*")) throw new RespProtocolError("Malformed request, array expected");
      const count = /^\*\d+$/.test(text) ? Number(text.slice(1)) : NaN;
      if (!Number.isInteger(count) || count === 0) throw new RespProtocolError("Missing arguments");
      if (count > MAX_ARGUMENTS) throw new RespProtocolError("Too many arguments");
      this.state = { at: "bulk-header", args: [], count };
      return;
    }
    if (state.at !== "bulk-header") return;
    if (!/^\$\d+$/.test(text)) throw new RespProtocolError("Malformed query string");
    const length = Number(text.slice(1));
    if (length > MAX_ARGUMENT_BYTES) throw new RespProtocolError("Payload too big");
    // An empty value still has its CRLF to read: bulk-body takes care of both.
    this.state = { at: "bulk-body", args: state.args, count: state.count, value: Buffer.allocUnsafe(length), filled: 0 };
  }

  private finishIfComplete(out: Buffer[][]): void {
    const state = this.state;
    if (state.at === "bulk-header" && state.args.length === state.count) {
      out.push(state.args);
      this.state = { at: "array" };
    }
  }
}

const CRLF = Buffer.from("\r\n", "latin1");
const line = (text: string): Buffer[] => [Buffer.from(`${text}\r\n`, "latin1")];

/** One reply, as the pieces to write (a bulk value is never copied). RESP2 as 0-db writes it. */
export type Reply = Buffer[];

export const reply = {
  status: (text: string): Reply => line(`+${text}`),
  error: (text: string): Reply => line(`-${text}`),
  integer: (n: number): Reply => line(`:${n}`),
  nil: (): Reply => line("$-1"),
  bulk: (value: Uint8Array): Reply => [
    Buffer.from(`$${value.length}\r\n`, "latin1"),
    Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    CRLF,
  ],
  array: (items: Reply[]): Reply => [Buffer.from(`*${items.length}\r\n`, "latin1"), ...items.flat()],
};
