/**
 * One streaming pass over a `.tar` or `.tar.gz`: sniffs the gzip magic (and refuses, naming what it looks like, an
 * input that is no tar: protocol/archive-sniff.ts, shared with the Worker), gunzips with node:zlib, parses with
 * tar-stream (USTAR, GNU long names/links, PAX attributes), and yields normalised entries. Nothing is buffered
 * beyond the stream's own windows: a file's bytes are handed to the consumer as they arrive.
 *
 * Every violation of the archive rules becomes an `IngestError` naming the member and the rule.
 */
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { Owner, SpecialType } from "../flist/model.ts";
import { type OwnerNames, NO_OWNER_NAMES, nameOrDecimal } from "./owners.ts";
import {
  DEFAULT_CAPS,
  type IngestCaps,
  IngestError,
  type IngestRule,
  type PathLimits,
  checkLinkTarget,
  decodeName,
  quoteName,
  splitArchivePath,
  toU32Seconds,
} from "./rules.ts";
import type { EntryAttrs } from "./tree.ts";
import { peek } from "../streams/peek.ts";
import {
  ACCEPTED_FORMATS,
  GZIP_MAGIC,
  SNIFF_BYTES,
  notTar,
  notTarInsideGzipMessage,
  notTarMessage,
  startsWith,
} from "../../../protocol/archive-sniff.ts";

interface EntryBase {
  /** The member name as written in the archive, for messages. */
  entry: string;
  /** Path components relative to the archive root (`[]` = the root, `./`). */
  parts: string[];
  attrs: EntryAttrs;
}

export type ArchiveEntry =
  | (EntryBase & { kind: "dir" })
  /** `body` must be read to its end before asking for the next entry. */
  | (EntryBase & { kind: "file"; size: number; body: AsyncIterable<Uint8Array> })
  | (EntryBase & { kind: "link"; target: string })
  | (EntryBase & { kind: "hardlink"; target: string[] })
  | (EntryBase & { kind: "special"; type: SpecialType; data: string });

export interface ReadArchiveOptions {
  caps?: Partial<IngestCaps>;
  /** Names for members stored without user/group names (default: none, so decimal strings). */
  owners?: OwnerNames;
  /** Called with the compressed bytes read so far (for progress). */
  onSourceBytes?: (bytes: number) => void;
  /** Ends the message refusing an input that is no tar (default: ACCEPTED_FORMATS, protocol/archive-sniff.ts). */
  accepted?: string;
}

/** Totals of one pass, for stats and progress. */
export interface ArchiveCounters {
  sourceBytes: number;
  expandedBytes: number;
  entries: number;
  gzip: boolean;
}

/** tar-stream's header as it really is: the PAX records of the member are attached (missing from its typings). */
type RawHeader = Omit<tar.Header, "pax" | "type"> & { type: string | null; pax?: Record<string, string> | null };
/** An entry body as tar-stream yields it (its `Source` type is not exported). */
type TarSource = tar.Extract extends AsyncIterable<infer S> ? S : never;

/**
 * Reads a raw or gzip'd tar and yields its entries in archive order. Use `explain(err)` on anything thrown while
 * consuming the entries (a file body fails with the parser's raw error): it names the entry and the rule.
 */
export class ArchiveReader {
  readonly counters: ArchiveCounters = { sourceBytes: 0, expandedBytes: 0, entries: 0, gzip: false };
  private readonly caps: IngestCaps;
  private readonly owners: OwnerNames;
  /** The member being read, for messages about what comes after it. */
  private current: string | undefined;
  /** First failure of the feeding side (source, gunzip, caps): the root cause of whatever the parser reports. */
  private failure: unknown;

  constructor(
    private readonly source: Readable | AsyncIterable<Uint8Array>,
    private readonly options: ReadArchiveOptions = {},
  ) {
    this.caps = { ...DEFAULT_CAPS, ...options.caps };
    this.owners = options.owners ?? NO_OWNER_NAMES;
  }

  async *entries(): AsyncGenerator<ArchiveEntry> {
    // latin1 keeps the raw name bytes recoverable, so names are checked as strict UTF-8 here, not by tar-stream.
    const extract = tar.extract({ filenameEncoding: "latin1" } as object); // (honoured, though not in its option type)
    const feeder = this.feed(extract).catch((err: unknown) => {
      this.failure ??= err;
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    let completed = false;
    try {
      for await (const stream of extract) {
        this.counters.entries++;
        if (this.counters.entries > this.caps.maxEntries) {
          throw new IngestError(
            labelOf(stream.header as RawHeader),
            "entry-count-cap",
            `archive has more than ${this.caps.maxEntries} entries`,
          );
        }
        const entry = toEntry(stream.header as RawHeader, stream, this.owners, this.caps);
        this.current = entry.entry;
        yield entry;
        // Skip whatever the consumer left unread (bodies of hardlinks with data, or an ignored file).
        for await (const _ of stream) void _;
      }
      completed = true;
    } catch (err) {
      throw this.explain(err);
    } finally {
      extract.destroy();
      // After a complete pass the feeder is done (it ended the parser); after an early stop it may be waiting on a
      // stalled source, which must not hang the caller: it ends by itself at the next chunk (or when the source
      // is destroyed, as ingestArchive does).
      if (completed) await feeder;
    }
    if (this.failure !== undefined) throw this.explain(this.failure);
  }

  /** Maps parser, zlib and source errors to an `IngestError` naming the entry and the rule. */
  explain(err: unknown): unknown {
    const cause = this.failure ?? err;
    if (cause instanceof IngestError) return cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    const first = this.counters.entries === 0;
    const after = this.current === undefined ? "the first member" : `the member after ${quoteName(this.current)}`;
    const here = (rule: IngestRule, detail: string) =>
      this.current === undefined ? IngestError.at("archive", rule, detail) : new IngestError(this.current, rule, detail);
    if (message.startsWith("Invalid tar header. Maybe")) {
      return first
        ? IngestError.at("archive", "not-an-archive", "not a tar or tar.gz archive (the first header is not a valid tar header)")
        : IngestError.at(after, "bad-checksum", "tar header checksum mismatch (corrupt archive)");
    }
    if (message === "Invalid tar header: unknown format.") {
      return first
        ? IngestError.at("archive", "not-an-archive", "not a tar or tar.gz archive (unknown header format)")
        : IngestError.at(after, "bad-header", "tar header has an unknown format (corrupt archive)");
    }
    if (message === "Unexpected end of data") return here("truncated", "archive is truncated (ends inside a member or header)");
    if (message === "Header exceeds max size" || message === "Invalid header") {
      return IngestError.at(after, "bad-header", `invalid tar header (${message})`);
    }
    if (typeof code === "string" && code.startsWith("Z_")) {
      return code === "Z_BUF_ERROR" ? here("truncated", "gzip stream is truncated") : here("bad-gzip", `corrupt gzip data (${message})`);
    }
    return cause;
  }

  /** Pushes the (gunzipped) bytes into the tar parser with backpressure, enforcing the expanded-size cap. */
  private async feed(extract: tar.Extract): Promise<void> {
    const counted = countBytes(this.source, (n) => {
      this.counters.sourceBytes += n;
      this.options.onSourceBytes?.(this.counters.sourceBytes);
    });
    const { head, all } = await peek(counted, SNIFF_BYTES);
    const accepted = this.options.accepted ?? ACCEPTED_FORMATS;
    let tarBytes: AsyncIterable<Uint8Array>;
    if (startsWith(head, GZIP_MAGIC)) {
      this.counters.gzip = true;
      // 256 KiB output pieces: fewer, larger writes into the parser than zlib's 16 KiB default.
      const gunzipped = pipeline(Readable.from(all), createGunzip({ chunkSize: 256 * 1024 }), () => {});
      // A gzip'd file that is no tar (a `.txt.gz` renamed): say so, rather than the parser's "truncated".
      const inner = await peek(gunzipped, SNIFF_BYTES);
      const looks = notTar(inner.head);
      if (looks !== undefined) {
        gunzipped.destroy();
        throw IngestError.at("archive", "not-an-archive", notTarInsideGzipMessage(looks, accepted));
      }
      tarBytes = inner.all;
    } else {
      const looks = notTar(head);
      if (looks !== undefined) throw IngestError.at("archive", "not-an-archive", notTarMessage(looks, accepted));
      tarBytes = all;
    }
    for await (const chunk of tarBytes) {
      this.counters.expandedBytes += chunk.byteLength;
      if (this.counters.expandedBytes > this.caps.maxExpandedBytes) {
        const detail = `archive expands to more than ${this.caps.maxExpandedBytes} bytes`;
        throw this.current === undefined
          ? IngestError.at("archive", "expanded-size-cap", detail)
          : new IngestError(this.current, "expanded-size-cap", detail);
      }
      if (extract.destroyed) return;
      if (!extract.write(chunk)) await drained(extract);
    }
    extract.end(undefined);
  }
}

function toEntry(header: RawHeader, body: TarSource, owners: OwnerNames, limits: PathLimits): ArchiveEntry {
  const pax = header.pax ?? {};
  const entry = labelOf(header);
  const name = pax.path !== undefined ? checkPaxText(pax.path, entry) : decodeName(Buffer.from(header.name, "latin1"), entry);
  const parts = splitArchivePath(name, entry, limits);
  // PAX-format sparse files look like regular members whose data is a sparse map: storing it would silently
  // give a different file, so they are refused like the GNU 'S' type.
  if (Object.keys(pax).some((key) => key.startsWith("GNU.sparse."))) {
    const real = pax["GNU.sparse.name"] ?? entry;
    throw new IngestError(real, "unsupported-type", "sparse files are not supported (archive without --sparse)");
  }
  const uid = idOf(pax.uid, header.uid, "uid", entry);
  const gid = idOf(pax.gid, header.gid, "gid", entry);
  // Names from the archive; members stored without names (--numeric-owner) get the host's, else the decimal id.
  const owner: Owner = {
    uid,
    gid,
    user: nameOrDecimal((pax.uname ?? header.uname ?? "") || owners.user(uid), uid),
    group: nameOrDecimal((pax.gname ?? header.gname ?? "") || owners.group(gid), gid),
  };
  const mtime = toU32Seconds(pax.mtime !== undefined ? Number(pax.mtime) : (header.mtime?.getTime() ?? 0) / 1000);
  const ctime = pax.ctime !== undefined ? toU32Seconds(Number(pax.ctime)) : mtime;
  const attrs: EntryAttrs = { mode: (header.mode ?? 0) & 0o7777, owner, mtime, ctime };
  const linkname = (): string => {
    if (pax.linkpath !== undefined) return checkPaxText(pax.linkpath, entry);
    return decodeName(Buffer.from(header.linkname ?? "", "latin1"), entry);
  };
  switch (header.type) {
    case "directory":
      return { kind: "dir", entry, parts, attrs };
    case "file":
    case "contiguous-file":
      // streamx readables are async-iterable at runtime; their typings do not say so.
      return { kind: "file", entry, parts, attrs, size: header.size ?? 0, body: body as unknown as AsyncIterable<Uint8Array> };
    case "symlink": {
      const target = linkname();
      checkLinkTarget(target, entry, limits);
      // Linux symlinks are always 0777 (what lstat, hence zflist, reports), whatever the archive says.
      return { kind: "link", entry, parts, attrs: { ...attrs, mode: 0o777 }, target };
    }
    case "link": {
      const target = linkname();
      let targetParts: string[];
      try {
        targetParts = splitArchivePath(target, entry, limits);
      } catch (err) {
        if (err instanceof IngestError && (err.rule === "absolute-path" || err.rule === "dot-dot")) {
          throw new IngestError(entry, "hardlink-escape", `hardlink target ${quoteName(target)} is outside the archive`);
        }
        throw err;
      }
      return { kind: "hardlink", entry, parts, attrs, target: targetParts };
    }
    case "character-device":
    case "block-device":
      return {
        kind: "special",
        entry,
        parts,
        attrs,
        type: header.type === "block-device" ? "block" : "chardev",
        data: `${header.devmajor ?? 0},${header.devminor ?? 0}`,
      };
    case "fifo":
      // libflist's placeholder for specials without device numbers.
      return { kind: "special", entry, parts, attrs, type: "fifo", data: "(nothing)" };
    default:
      // tar-stream maps the flags it does not know (GNU sparse 'S', volume labels, multi-volume parts…) to null.
      throw new IngestError(
        entry,
        "unsupported-type",
        header.type ? `unsupported tar member type '${header.type}'` : "unsupported tar member type (a GNU sparse file, volume label or other extension)",
      );
  }
}

/** The member name for messages: best-effort UTF-8 of the raw bytes (the strict check comes later). */
function labelOf(header: RawHeader): string {
  if (header.pax?.path !== undefined) return header.pax.path;
  return Buffer.from(header.name, "latin1").toString("utf8");
}

/** tar-stream decodes PAX records as UTF-8, replacing bad bytes with U+FFFD: refuse those rather than store them. */
function checkPaxText(text: string, entry: string): string {
  if (text.includes("\uFFFD")) throw new IngestError(entry, "non-utf8-name", "PAX name is not valid UTF-8");
  return text;
}

function idOf(paxValue: string | undefined, headerValue: number | undefined, what: string, entry: string): number {
  const id = paxValue !== undefined ? Number(paxValue) : (headerValue ?? 0);
  if (!Number.isSafeInteger(id) || id < 0 || id > 0xffffffff) {
    throw new IngestError(entry, "bad-header", `invalid ${what} ${quoteName(String(paxValue ?? headerValue))}`);
  }
  return id;
}

async function* countBytes(
  source: AsyncIterable<Uint8Array>,
  onBytes: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.byteLength);
    yield chunk;
  }
}

function drained(writable: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    writable.on("drain", done);
    writable.on("close", done);
  });
}
