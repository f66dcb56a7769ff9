/**
 * The rules every ingested entry must satisfy (docs/compatibility.md §7.2: archives are hostile until proven otherwise), and the
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
  | "path-too-long"
  | "too-deep"
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

export interface IngestErrorOptions {
  /** `entry` is a position ("archive", "the member after …"), not a member name: it is shown as is. */
  position?: boolean;
  /** The image layer the entry belongs to, shown first (docker jobs). */
  layer?: string;
}

export class IngestError extends Error {
  override readonly name = "IngestError";
  readonly position: boolean;
  readonly layer: string | undefined;
  constructor(
    /** The offending entry as written in the archive, or a position (see `options.position`). */
    readonly entry: string,
    readonly rule: IngestRule,
    /** What is wrong, without the entry; names inside it are quoted with `quoteName`. */
    readonly detail: string,
    options: IngestErrorOptions = {},
  ) {
    const where = options.position ? entry : quoteName(entry);
    super(`${options.layer !== undefined ? `${options.layer}: ` : ""}${where}: ${detail} [rule: ${rule}]`);
    this.position = options.position ?? false;
    this.layer = options.layer;
  }

  /** An error about a place in the archive rather than a named member. */
  static at(position: string, rule: IngestRule, detail: string): IngestError {
    return new IngestError(position, rule, detail, { position: true });
  }
}

/** Characters kept at each end of a long name in messages. */
const QUOTED_END_CHARS = 40;

/**
 * A name as messages show it: JSON-quoted (so control characters, quotes and line breaks cannot break the one-line
 * message) and, when long, shortened in the middle with its real size: a hostile name can be megabytes, and a
 * failure report that repeats it would not fit where it must be recorded.
 */
export function quoteName(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= 2 * QUOTED_END_CHARS + 1) return jsonQuote(name);
  const short = `${chars.slice(0, QUOTED_END_CHARS).join("")}…${chars.slice(-QUOTED_END_CHARS).join("")}`;
  return `${jsonQuote(short)} (${Buffer.byteLength(name)} bytes)`;
}

/** JSON.stringify leaves U+2028/U+2029 raw; some log readers break lines on them. */
function jsonQuote(text: string): string {
  return JSON.stringify(text).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Limits that stop decompression bombs and runaway trees. Each is checked as the entry (or the byte) arrives, so a
 * hostile archive is refused at its first offending member, not after it was read whole.
 */
export interface IngestCaps {
  /** Maximum bytes after decompression (tar headers included). */
  maxExpandedBytes: number;
  /** Maximum number of archive members (or directory entries). */
  maxEntries: number;
  /** Maximum path components of one entry (`a/b/c` has 3). */
  maxDepth: number;
  /** Maximum bytes of one path component (Linux NAME_MAX: 255). */
  maxNameBytes: number;
  /** Maximum bytes of one path or symlink target (Linux PATH_MAX is 4096 with its terminating NUL: 4095). */
  maxPathBytes: number;
}

/**
 * Defaults for a hosted hub (docs/limits.md says why):
 * - 4 GiB expanded: real inputs are far below it (a Debian or Ubuntu rootfs expands to 0.1–1 GB, typical application
 *   images to 0.2–2 GB), while converting costs CPU time in proportion to the expanded bytes (every byte is hashed,
 *   compressed and encrypted), whatever they compress to: 4 GiB is under a minute of one converter slot, where 16 GiB
 *   of zeros, a 16 MB gzip upload, held it for minutes. Hubs serving larger images (CUDA, ML) raise it.
 * - 1,000,000 entries: a large distribution image has ~100,000.
 * - depth 256: real trees stay under ~30 levels; PATH_MAX alone would allow ~2,000.
 * - names 255 and paths 4095 bytes: what Linux itself accepts, so every entry can be materialised by a node.
 */
export const DEFAULT_CAPS: IngestCaps = {
  maxExpandedBytes: 4 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxDepth: 256,
  maxNameBytes: 255,
  maxPathBytes: 4095,
};

/** The tree-shape limits splitArchivePath and checkLinkTarget enforce. */
export type PathLimits = Pick<IngestCaps, "maxDepth" | "maxNameBytes" | "maxPathBytes">;

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
export function splitArchivePath(raw: string, entry: string = raw, limits: PathLimits = DEFAULT_CAPS): string[] {
  if (raw.includes("\0")) throw new IngestError(entry, "bad-name", "name contains a NUL byte");
  if (raw.startsWith("/")) throw new IngestError(entry, "absolute-path", "absolute paths are not allowed");
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new IngestError(entry, "dot-dot", "'..' path components are not allowed");
    parts.push(part);
  }
  checkShape(parts, entry, limits);
  return parts;
}

/** Depth, component and path lengths of a path split into components (also a walked directory's entries). */
export function checkShape(parts: readonly string[], entry: string, limits: PathLimits): void {
  if (parts.length > limits.maxDepth) {
    throw new IngestError(entry, "too-deep", `path has ${parts.length} components, more than the ${limits.maxDepth} allowed`);
  }
  // The stored path: components joined by single slashes.
  let bytes = Math.max(0, parts.length - 1);
  for (const part of parts) {
    const name = Buffer.byteLength(part);
    if (name > limits.maxNameBytes) {
      throw new IngestError(entry, "name-too-long", `a component has ${name} bytes, more than the ${limits.maxNameBytes} allowed`);
    }
    bytes += name;
  }
  if (bytes > limits.maxPathBytes) {
    throw new IngestError(entry, "path-too-long", `path has ${bytes} bytes, more than the ${limits.maxPathBytes} allowed`);
  }
}

/** Symlink targets are stored verbatim (they may be absolute or dangling) but must still be sane text. */
export function checkLinkTarget(target: string, entry: string, limits: Pick<PathLimits, "maxPathBytes"> = DEFAULT_CAPS): void {
  if (target.length === 0) throw new IngestError(entry, "bad-name", "symlink has an empty target");
  if (target.includes("\0")) throw new IngestError(entry, "bad-name", "symlink target contains a NUL byte");
  const bytes = Buffer.byteLength(target);
  if (bytes > limits.maxPathBytes) {
    throw new IngestError(entry, "path-too-long", `symlink target has ${bytes} bytes, more than the ${limits.maxPathBytes} allowed`);
  }
}

/** Clamp a time to the u32 seconds the flist stores (pre-1970 → 0, after 2106 → max). */
export function toU32Seconds(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(Math.floor(seconds), 0xffffffff);
}
