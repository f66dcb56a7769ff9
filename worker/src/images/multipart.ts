/**
 * A streaming reader of the one-file multipart form docker-simplestreams-server's curl flow sends
 * (`curl -F upload=@file;filename=<path> …/images/`): small fields before the file are read (64 KiB at most), the
 * file part is handed on as a stream of chunks, never buffered. Its length comes from Content-Length minus what
 * precedes it and the closing delimiter `\r\n--<boundary>--\r\n` every common client (curl, browsers, undici)
 * writes; the delimiter is checked when the stream ends, so a form of another shape fails instead of storing
 * stray bytes. The file must be the last part (it is the only part in the seed's flow).
 */
import { drainReader } from "../http/drain";
import { HubError } from "../http/errors";

const HEAD_MAX = 64 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface StreamedFile {
  field: string;
  filename: string;
  length: number;
  chunks: AsyncIterable<Uint8Array>;
}

export interface StreamedForm {
  fields: Map<string, string>;
  file: StreamedFile | null;
  /**
   * Drops the rest of the body. A route refusing the upload after the form was opened must call it: a response
   * sent while the request body is still locked and half read leaves the client (curl) waiting for good.
   */
  cancel(): Promise<void>;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function boundaryOf(contentType: string | null): string {
  const match = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw new HubError(400, "expected a multipart/form-data body");
  return boundary;
}

/** `name` and `filename` of a part's Content-Disposition. */
function disposition(head: string): { name: string; filename: string | null } {
  const line = head.split("\r\n").find((l) => /^content-disposition:/i.test(l)) ?? "";
  const name = /;\s*name="([^"]*)"/i.exec(line)?.[1];
  if (name === undefined) throw new HubError(400, "multipart part without a name");
  const filename = /;\s*filename="([^"]*)"/i.exec(line)?.[1] ?? null;
  return { name, filename };
}

export async function readStreamedForm(req: Request, fileField: string): Promise<StreamedForm> {
  const boundary = boundaryOf(req.headers.get("Content-Type"));
  const total = Number(req.headers.get("Content-Length") ?? "NaN");
  if (!Number.isSafeInteger(total) || total <= 0) throw new HubError(411, "Content-Length required");
  if (!req.body) throw new HubError(400, "empty body");
  const reader = req.body.getReader();
  const cancel = () => drainReader(reader);
  try {
    return await parseForm(reader, boundary, total, fileField, cancel);
  } catch (err) {
    await cancel();
    throw err;
  }
}

async function parseForm(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  boundary: string,
  total: number,
  fileField: string,
  cancel: () => Promise<void>,
): Promise<StreamedForm> {
  const first = enc.encode(`--${boundary}\r\n`);
  const delimiter = enc.encode(`\r\n--${boundary}`);
  const closing = enc.encode(`\r\n--${boundary}--\r\n`);

  let buf: Uint8Array = new Uint8Array(0);
  let consumed = 0; // bytes of the body dropped from the front of `buf`
  const more = async (): Promise<void> => {
    if (buf.length > HEAD_MAX) throw new HubError(413, `form fields before the file larger than ${HEAD_MAX} bytes`);
    const { done, value } = await reader.read();
    if (done) throw new HubError(400, "truncated multipart body");
    buf = concat(buf, value);
  };

  while (buf.length < first.length) await more();
  if (indexOf(buf.subarray(0, first.length), first, 0) !== 0) throw new HubError(400, "malformed multipart body");
  let pos = first.length;
  const fields = new Map<string, string>();
  for (;;) {
    let end: number;
    while ((end = indexOf(buf, enc.encode("\r\n\r\n"), pos)) < 0) await more();
    const { name, filename } = disposition(dec.decode(buf.subarray(pos, end)));
    const start = end + 4;
    if (name === fileField && filename !== null) {
      const length = total - (consumed + start) - closing.length;
      if (length < 0) throw new HubError(400, "malformed multipart body");
      const rest = buf.subarray(start);
      const chunks = fileChunks(reader, rest, length, closing);
      return { fields, file: { field: name, filename, length, chunks }, cancel };
    }
    let stop: number;
    while ((stop = indexOf(buf, delimiter, start)) < 0) await more();
    fields.set(name, dec.decode(buf.subarray(start, stop)));
    pos = stop + delimiter.length;
    while (buf.length < pos + 2) await more();
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return { fields, file: null, cancel }; // "--": end of the form
    pos += 2; // "\r\n" before the next part
    consumed += pos;
    buf = buf.subarray(pos);
    pos = 0;
  }
}

/** The file's bytes (exactly `length`), then a check that what follows is the closing delimiter. */
async function* fileChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  rest: Uint8Array,
  length: number,
  closing: Uint8Array,
): AsyncGenerator<Uint8Array> {
  let left = length;
  let tail: Uint8Array = new Uint8Array(0);
  let chunk: Uint8Array | undefined = rest;
  let finished = false;
  try {
    for (;;) {
      if (chunk && chunk.length > 0) {
        const take = Math.min(left, chunk.length);
        if (take > 0) yield chunk.subarray(0, take);
        left -= take;
        if (take < chunk.length) {
          tail = concat(tail, chunk.subarray(take));
          if (tail.length > closing.length) throw new HubError(400, "multipart body longer than its Content-Length");
        }
      }
      const { done, value } = await reader.read();
      if (done) break;
      chunk = value;
    }
    finished = true;
  } finally {
    // The consumer stopped early (an error while storing): drop the rest of the body (see StreamedForm.cancel).
    if (!finished) await drainReader(reader);
  }
  if (left > 0) throw new HubError(400, "truncated multipart body");
  if (tail.length !== closing.length || indexOf(tail, closing, 0) !== 0) {
    throw new HubError(400, "the file must be the last part of the form, closed by --boundary--\\r\\n");
  }
}
