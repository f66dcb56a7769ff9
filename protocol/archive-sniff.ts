/**
 * What the first bytes of an input look like, so that an input which is no tar at all is refused with a message
 * saying what it seems to be (a zip, an xz file, plain text…) instead of the parser's "truncated" or "invalid
 * header". Shared by both sides of an upload: the converter's tar reader (converter/src/ingest/tar.ts) calls it on
 * the input and, for gzip, on what the gzip holds; the Worker (worker/src/uploads/file-check.ts) on a form upload's
 * bytes, so that both answer in the same words. It only names inputs the tar parser would refuse anyway
 * (tar-stream takes a first header only with the `ustar` magic, or an all-zero block): whatever could still be a
 * tar goes on to the parser, so what is accepted does not change. No runtime globals: it runs in workerd and Node.
 */

/** Bytes to look at: one tar header block (its `ustar` magic is at offset 257). */
export const SNIFF_BYTES = 512;

export const GZIP_MAGIC = [0x1f, 0x8b];

/** What the converter's tar reader takes, for its messages: a gzip'd or a plain tar (the CLI reads `.tar` files). */
export const ACCEPTED_FORMATS = "accepted: .tar.gz (gzip-compressed tar) or .tar";

/** What an archive upload to the hub may be named (docs/publishing.md: tar uploads are `.tar.gz`). */
export const UPLOAD_FORMATS = "accepted: a .tar.gz file (a gzip-compressed tar archive)";

const SIGNATURES: Array<{ magic: number[] | string; what: string }> = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: "a zip archive" },
  { magic: [0x50, 0x4b, 0x05, 0x06], what: "a zip archive" },
  { magic: [0x50, 0x4b, 0x07, 0x08], what: "a zip archive" },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: "an xz-compressed file" },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: "a zstd-compressed file" },
  { magic: [0x42, 0x5a, 0x68], what: "a bzip2-compressed file" },
  { magic: [0x04, 0x22, 0x4d, 0x18], what: "an lz4-compressed file" },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: "a 7-Zip archive" },
  { magic: "Rar!\x1a\x07", what: "a RAR archive" },
  { magic: "hsqs", what: "a squashfs image" },
  { magic: "\x7fELF", what: "an executable (ELF)" },
  { magic: "%PDF-", what: "a PDF document" },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image" },
  { magic: "070701", what: "a cpio archive" },
];

const USTAR_OFFSET = 257;

function matches(head: Uint8Array, at: number, magic: number[] | string): boolean {
  const bytes = typeof magic === "string" ? Array.from(magic, (c) => c.charCodeAt(0)) : magic;
  return head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);
}

export const startsWith = (head: Uint8Array, magic: number[]): boolean => matches(head, 0, magic);

/**
 * Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). A sequence cut by the end of the head is
 * accepted: the head may end inside a multi-byte character.
 */
function isUtf8(head: Uint8Array): boolean {
  let i = 0;
  while (i < head.length) {
    const b = head[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min, cp] = [1, 0x80, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) [need, min, cp] = [2, 0x800, b & 0x0f];
    else if (b >= 0xf0 && b <= 0xf4) [need, min, cp] = [3, 0x10000, b & 0x07];
    else return false;
    let j = 1;
    for (; j <= need && i + j < head.length; j++) {
      const c = head[i + j]!;
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j <= need) return true; // cut short by the end of the head
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** Printable UTF-8 with no NUL nor control characters but tab, newlines, form feed and escape. */
function isText(head: Uint8Array): boolean {
  for (const b of head) if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) || b === 0x7f) return false;
  return isUtf8(head);
}

/** The first bytes as ASCII, lower-cased, leading whitespace skipped (for the HTML check). */
function asciiStart(head: Uint8Array): string {
  let s = "";
  for (const b of head.subarray(0, 64)) s += String.fromCharCode(b < 0x80 ? b : 0x3f);
  return s.trimStart().toLowerCase();
}

/**
 * What `head` (the first SNIFF_BYTES bytes, or all of a shorter input) looks like when it cannot be the start of
 * a tar archive, as a phrase ("starts like a zip archive", "looks like plain text"); undefined when it may be one
 * (or the input is empty): the tar parser decides.
 */
export function notTar(head: Uint8Array): string | undefined {
  if (head.length === 0) return undefined;
  if (matches(head, USTAR_OFFSET, "ustar")) return undefined;
  // An all-zero block is an end-of-archive marker (an empty tar); a shorter run of zeros is a truncated one.
  if (head.every((b, i) => b === 0 || (i >= 148 && i < 156))) return undefined;
  const known = SIGNATURES.find((s) => matches(head, 0, s.magic));
  if (known) return `starts like ${known.what}`;
  if (startsWith(head, GZIP_MAGIC)) return "starts like gzip-compressed data";
  if (isText(head)) {
    const start = asciiStart(head);
    return start.startsWith("<!doctype html") || start.startsWith("<html") ? "looks like an HTML page" : "looks like plain text";
  }
  // Too short to hold the magic: it may be the start of a tar cut short, which the parser reports as truncated.
  if (head.length < USTAR_OFFSET + 5) return undefined;
  return "starts with neither a gzip signature nor a tar header";
}

/** The refusal of an input whose first bytes are no tar (`looks`: notTar's phrase); `accepted` ends it. */
export function notTarMessage(looks: string, accepted: string): string {
  return `not a tar or tar.gz archive: the file ${looks}; ${accepted}`;
}

/** The refusal of a gzip'd input that holds no tar (`looks`: notTar's phrase for the gunzipped bytes). */
export function notTarInsideGzipMessage(looks: string, accepted: string): string {
  return `not a tar.gz archive: the file is gzip-compressed, but what it holds ${looks}, not a tar archive; ${accepted}`;
}

/**
 * What a file is, as a phrase after its name ("is a zip archive", "is a plain (uncompressed) tar archive", "is
 * empty"), for refusing a file by its name while saying what it really is. `head`: its first SNIFF_BYTES bytes;
 * `inner`: for gzip, the first SNIFF_BYTES bytes it holds (undefined when they could not be read).
 */
export function describeFile(head: Uint8Array, inner?: Uint8Array): string {
  if (head.length === 0) return "is empty";
  if (startsWith(head, GZIP_MAGIC)) {
    if (inner === undefined) return "is gzip-compressed data";
    const looks = notTar(inner);
    return looks === undefined ? "is a gzip-compressed tar archive" : `is gzip-compressed, but what it holds ${looks}, not a tar archive`;
  }
  const looks = notTar(head);
  if (looks !== undefined) return looks;
  if (matches(head, USTAR_OFFSET, "ustar")) return "is a plain (uncompressed) tar archive";
  return "may be a tar archive";
}
