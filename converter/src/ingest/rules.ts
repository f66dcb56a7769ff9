/**
 * The rules every ingested entry must satisfy (DESIGN.md §4: archives are hostile until proven otherwise), and the
 * error they raise. Each violation names the entry and the rule, so a user can fix the archive, and it is thrown
 * before anything is published (chunks already stored are harmless: they are content-addressed).
 */

/** Rule identifiers, stable so callers (API, tests) can match on them. */
export type IngestRule =
  | "absolute-path"
  | "dot-dot"
  | "bad-name"
  | "non-utf8-name"
  | "name-too-long"
  | "symlink-parent"
  | "parent-not-directory"
  | "hardlink-missing"
  | "hardlink-escape"
  | "hardlink-to-directory"
  | "unsupported-type"
  | "truncated"
  | "bad-checksum"
  | "not-an-archive"
  | "bad-gzip"
  | "expanded-size-cap"
  | "entry-count-cap"
  | "bad-header";

export class IngestError extends Error {
  override readonly name = "IngestError";
  constructor(
    /** The offending entry as written in the archive (or a position such as "entry #3" when it has no name yet). */
    readonly entry: string,
    readonly rule: IngestRule,
    detail: string,
  ) {
    super(`${entry}: ${detail} [rule: ${rule}]`);
  }
}

/** Limits that stop decompression bombs and runaway archives. */
export interface IngestCaps {
  /** Maximum bytes after decompression (tar headers included). */
  maxExpandedBytes: number;
  /** Maximum number of archive members (or directory entries). */
  maxEntries: number;
}

/**
 * Defaults sized for container images (the hub's main input): 16 GiB expanded, one million entries. Both are far above
 * real images yet stop a gzip bomb (ratio up to ~1000:1) long before it fills a disk or the catalog.
 */
export const DEFAULT_CAPS: IngestCaps = {
  maxExpandedBytes: 16 * 1024 ** 3,
  maxEntries: 1_000_000,
};

/** Linux limits: a path component is at most 255 bytes, a path at most 4096 (PATH_MAX, NUL included). */
const NAME_MAX = 255;
const PATH_MAX = 4095;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decode raw name bytes, refusing anything that is not valid UTF-8 (flist names are UTF-8 text). */
export function decodeName(bytes: Uint8Array, entry: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new IngestError(entry, "non-utf8-name", "name is not valid UTF-8");
  }
}

/**
 * Split an archive member name into path components relative to the archive root. `./`, `.` and repeated or
 * trailing slashes are dropped (`./a//b/` → `["a","b"]`; `./` → `[]`, the root). Absolute names and `..`
 * components are refused rather than rewritten: silently re-rooting them would hide a hostile archive.
 */
export function splitArchivePath(raw: string, entry: string = raw): string[] {
  if (raw.includes("\0")) throw new IngestError(entry, "bad-name", "name contains a NUL byte");
  if (raw.startsWith("/")) throw new IngestError(entry, "absolute-path", "absolute paths are not allowed");
  if (Buffer.byteLength(raw) > PATH_MAX) {
    throw new IngestError(entry, "name-too-long", `path is longer than ${PATH_MAX} bytes`);
  }
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new IngestError(entry, "dot-dot", "'..' path components are not allowed");
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw new IngestError(entry, "name-too-long", `component is longer than ${NAME_MAX} bytes`);
    }
    parts.push(part);
  }
  return parts;
}

/** Symlink targets are stored verbatim (they may be absolute or dangling) but must still be sane text. */
export function checkLinkTarget(target: string, entry: string): void {
  if (target.length === 0) throw new IngestError(entry, "bad-name", "symlink has an empty target");
  if (target.includes("\0")) throw new IngestError(entry, "bad-name", "symlink target contains a NUL byte");
  if (Buffer.byteLength(target) > PATH_MAX) {
    throw new IngestError(entry, "name-too-long", `symlink target is longer than ${PATH_MAX} bytes`);
  }
}

/** Clamp a time to the u32 seconds the flist stores (pre-1970 → 0, after 2106 → max). */
export function toU32Seconds(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(Math.floor(seconds), 0xffffffff);
}
