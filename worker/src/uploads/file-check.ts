/**
 * What an uploaded archive is, told from its first bytes with the converter's own sniffing
 * (protocol/archive-sniff.ts), so that a refusal names the accepted format and what the file really is. Only the
 * form upload has the bytes in hand (they are in memory already, uploads/form.ts); the streamed and resumable
 * routes refuse a wrong name before any byte is read and leave the content to the converter, which answers in
 * the same words.
 */
import {
  ACCEPTED_FORMATS,
  GZIP_MAGIC,
  SNIFF_BYTES,
  UPLOAD_FORMATS,
  describeFile,
  notTar,
  notTarInsideGzipMessage,
  notTarMessage,
  startsWith,
} from "../../../protocol/archive-sniff";
import { HubError } from "../http/errors";

/** Compressed bytes fed to gunzip to get SNIFF_BYTES out: deflate never grows data by more than a few bytes per block. */
const GZIP_HEAD_BYTES = 16 * 1024;

/** Up to `max` leading bytes of what the gzip'd `compressed` holds; undefined when it does not gunzip that far. */
async function gunzipHead(compressed: Blob, max: number): Promise<Uint8Array | undefined> {
  const stream = compressed.stream().pipeThrough(new DecompressionStream("gzip"));
  const reader = stream.getReader();
  const out = new Uint8Array(max);
  let got = 0;
  try {
    while (got < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.byteLength, max - got);
      out.set(value.subarray(0, take), got);
      got += take;
    }
  } catch {
    // A head cut inside the deflate stream errors once its output is read: what came out before is enough.
    if (got === 0) return undefined;
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return out.subarray(0, got);
}

interface Sniffed {
  head: Uint8Array;
  /** For gzip: the first bytes it holds (undefined when not gzip, or when they could not be read). */
  inner?: Uint8Array;
}

async function sniff(file: Blob): Promise<Sniffed> {
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  if (!startsWith(head, GZIP_MAGIC)) return { head };
  return { head, inner: await gunzipHead(file.slice(0, GZIP_HEAD_BYTES), SNIFF_BYTES) };
}

/** `"x.zip"` quoted as JSON does, so odd characters in a name cannot reshape the message. */
const quoted = (name: string) => JSON.stringify(name);

/** The refusal of an archive upload by its name alone (no byte read yet). */
export function notAllowedArchiveName(filename: string): HubError {
  return new HubError(400, `this file is not allowed: ${quoted(filename)} does not end in .tar.gz; ${UPLOAD_FORMATS}`);
}

/** The refusal of an archive upload by its name, saying what the file is. */
export async function notAllowedArchive(filename: string, file: Blob): Promise<HubError> {
  const { head, inner } = await sniff(file);
  const what = describeFile(head, inner);
  const hint = what === "is a plain (uncompressed) tar archive" ? " (gzip it, or create it with tar -czf)" : "";
  return new HubError(400, `this file is not allowed: ${quoted(filename)} ${what}; ${UPLOAD_FORMATS}${hint}`);
}

/**
 * The converter's failure for the same input, word for word (its IngestError of the whole archive, rule
 * `not-an-archive`: converter/src/ingest/rules.ts), so a client sees one message whichever route it used.
 */
const asConverterSays = (sentence: string) => new HubError(422, `invalid archive: archive: ${sentence} [rule: not-an-archive]`);

/**
 * Refuses (422, the status of a job refusing its input: docs/compatibility.md §6.6) a correctly named archive
 * whose bytes cannot be a tar, in the converter's words, before any job is queued.
 */
export async function checkArchiveBytes(file: Blob): Promise<void> {
  const { head, inner } = await sniff(file);
  if (inner !== undefined) {
    const looks = notTar(inner);
    if (looks !== undefined) throw asConverterSays(notTarInsideGzipMessage(looks, ACCEPTED_FORMATS));
    return;
  }
  // A gzip whose head does not gunzip is left to the converter: it names the corruption precisely.
  if (startsWith(head, GZIP_MAGIC)) return;
  const looks = notTar(head);
  if (looks !== undefined) throw asConverterSays(notTarMessage(looks, ACCEPTED_FORMATS));
}

/** The refusal of a homemade flist upload by its name (a .flist is a gzip'd tar too, so its bytes say little). */
export async function notAllowedFlist(filename: string): Promise<HubError> {
  return new HubError(400, `this file is not allowed: ${quoted(filename)} does not end in .flist; accepted: a .flist file`);
}
