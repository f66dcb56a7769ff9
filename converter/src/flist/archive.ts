/**
 * The `.flist` container (docs/flist-format.md §1.1): gzip(tar) with the member `./flistdb.sqlite3`.
 *
 * Reading streams the input through gunzip and tar-stream and keeps only the database member, with
 * caps on the expanded bytes so a gzip bomb fails early. Writing emits exactly `./` (directory) and
 * `./flistdb.sqlite3`, with fixed header fields so the same database gives the same bytes.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform, type TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, createGunzip } from "node:zlib";
import tar from "tar-stream";
import { FlistFormatError } from "./errors.ts";

export interface ExtractLimits {
  /** Largest accepted `flistdb.sqlite3`, in bytes (it is held in memory). */
  maxDatabaseBytes: number;
  /** Largest accepted expanded tar stream, in bytes (a cap on everything gunzip produces). */
  maxArchiveBytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxDatabaseBytes: 1024 * 1024 * 1024,
  maxArchiveBytes: 2 * 1024 * 1024 * 1024,
};

const DB_MEMBER = "flistdb.sqlite3";

function memberName(raw: string): string {
  return raw.replace(/^(\.\/|\/)+/, "");
}

/** Counts expanded bytes and stops the stream once the cap is exceeded. */
class ByteCap extends Transform {
  private seen = 0;
  constructor(private readonly cap: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.cap) {
      done(new FlistFormatError(`flist archive expands to more than ${this.cap} bytes (limit maxArchiveBytes)`));
      return;
    }
    done(null, chunk);
  }
}

/** Gunzips and untars `source`, returning the bytes of its `flistdb.sqlite3` member. */
export async function extractDatabase(source: Readable, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<Buffer> {
  const gunzip = createGunzip();
  const cap = new ByteCap(limits.maxArchiveBytes);
  const extract = tar.extract();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    extract.destroy(failure);
  };
  source.on("error", (e) => fail(new FlistFormatError(`cannot read flist: ${e.message}`, { cause: e })));
  gunzip.on("error", (e) => fail(new FlistFormatError(`not a valid gzip stream: ${e.message}`, { cause: e })));
  cap.on("error", (e) => fail(e));
  source.pipe(gunzip).pipe(cap).pipe(extract);
  try {
    for await (const entry of extract) {
      const name = memberName(entry.header.name);
      if (name.split("/").includes("..")) {
        throw new FlistFormatError(`flist archive member "${entry.header.name}" contains ".."`);
      }
      if (name !== DB_MEMBER || (entry.header.type !== "file" && entry.header.type !== "contiguous-file")) {
        entry.resume();
        continue;
      }
      const declared = entry.header.size ?? 0;
      if (declared > limits.maxDatabaseBytes) {
        throw new FlistFormatError(`${DB_MEMBER} is ${declared} bytes, more than ${limits.maxDatabaseBytes} (limit maxDatabaseBytes)`);
      }
      const parts: Buffer[] = [];
      let total = 0;
      for await (const part of entry as AsyncIterable<Buffer>) {
        total += part.length;
        parts.push(part);
      }
      return Buffer.concat(parts, total);
    }
  } catch (error) {
    if (failure) throw failure;
    if (error instanceof FlistFormatError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new FlistFormatError(`not a valid tar archive: ${message}`, { cause: error });
  } finally {
    source.unpipe();
    source.destroy();
    gunzip.destroy();
    cap.destroy();
    extract.destroy();
  }
  if (failure) throw failure;
  throw new FlistFormatError(`flist archive has no ${DB_MEMBER} member`);
}

export function sourceOf(input: string | Uint8Array): Readable {
  return typeof input === "string" ? createReadStream(input) : Readable.from([Buffer.from(input.buffer, input.byteOffset, input.byteLength)]);
}

export interface ArchiveDigest {
  md5: string;
  sha256: string;
  size: number;
}

/** Passes bytes through while computing md5, sha256 and size of the final `.flist`. */
class DigestTap extends Transform {
  private readonly md5 = createHash("md5");
  private readonly sha256 = createHash("sha256");
  private size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.md5.update(chunk);
    this.sha256.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
  digest(): ArchiveDigest {
    return { md5: this.md5.digest("hex"), sha256: this.sha256.digest("hex"), size: this.size };
  }
}

/**
 * Writes gzip(tar(`./`, `./flistdb.sqlite3`)) to `out`. Header fields are fixed (uid/gid 0,
 * uname/gname root, `mtime` from the caller) and Node's gzip header carries no name and mtime 0,
 * so equal databases give equal archives.
 */
export async function packArchive(
  database: { path: string; size: number } | Uint8Array,
  mtime: number,
  out: Writable,
): Promise<ArchiveDigest> {
  const pack = tar.pack();
  const date = new Date(mtime * 1000);
  const common = { uid: 0, gid: 0, uname: "root", gname: "root", mtime: date };
  const tap = new DigestTap();
  const done = pipeline(pack, createGzip({ level: 6 }), tap, out);
  pack.entry({ ...common, name: "./", type: "directory", mode: 0o755 });
  if (database instanceof Uint8Array) {
    pack.entry({ ...common, name: `./${DB_MEMBER}`, type: "file", mode: 0o644, size: database.length }, Buffer.from(database));
  } else {
    const entry = pack.entry({ ...common, name: `./${DB_MEMBER}`, type: "file", mode: 0o644, size: database.size });
    await pipeline(createReadStream(database.path), entry);
  }
  pack.finalize();
  await done;
  return tap.digest();
}

/** A Writable that keeps everything written to it (for callers that want the bytes). */
export class CollectBytes extends Writable {
  private readonly parts: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.parts.push(chunk);
    done();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
