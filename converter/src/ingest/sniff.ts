/**
 * What the first bytes of an input look like, so that an input which is no tar at all is refused with a message
 * saying what it seems to be (a zip, an xz file, plain text…) instead of the parser's "truncated" or "invalid
 * header". tar.ts calls it on the input and, for gzip, on what the gzip holds. It only names inputs the tar
 * parser would refuse anyway (tar-stream takes a first header only with the `ustar` magic, or an all-zero block):
 * whatever could still be a tar goes on to the parser, so what is accepted does not change.
 */

/** Bytes to look at: one tar header block (its `ustar` magic is at offset 257). */
export const SNIFF_BYTES = 512;

export const GZIP_MAGIC = [0x1f, 0x8b];

/** What is accepted, for the messages (docs/publishing.md: tar uploads are `.tar.gz`; a plain tar is read too). */
export const ACCEPTED_FORMATS = "accepted: .tar.gz (gzip-compressed tar) or .tar";

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

/** Printable UTF-8 with no NUL nor control characters but tab, newlines, form feed and escape. */
function isText(head: Uint8Array): boolean {
  for (const b of head) if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) || b === 0x7f) return false;
  // The head may end inside a multi-byte character: `stream` keeps that tail undecoded instead of failing on it.
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
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
    const start = new TextDecoder().decode(head.subarray(0, 64)).trimStart().toLowerCase();
    return start.startsWith("<!doctype html") || start.startsWith("<html") ? "looks like an HTML page" : "looks like plain text";
  }
  // Too short to hold the magic: it may be the start of a tar cut short, which the parser reports as truncated.
  if (head.length < USTAR_OFFSET + 5) return undefined;
  return "starts with neither a gzip signature nor a tar header";
}
