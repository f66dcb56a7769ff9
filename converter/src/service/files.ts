/** Downloads that must land on disk (an uploaded or source `.flist`), with a size cap checked while streaming. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Download } from "./hub.ts";
import { JobFailure } from "./errors.ts";
import { HubError } from "./hub.ts";

/**
 * The largest `.flist` the converter accepts as input: what the Worker's publish route accepts (it parses the
 * body in memory, docs/catalog-api.md "Internal publish route").
 */
export { MAX_FLIST_BYTES } from "../../../protocol/publish.ts";

/** Limits for reading an uploaded or downloaded flist: its database is held in memory. */
export const FLIST_READ_LIMITS = { maxDatabaseBytes: 256 * 1024 * 1024, maxArchiveBytes: 320 * 1024 * 1024 };

class SizeCap extends Transform {
  private seen = 0;
  constructor(
    private readonly cap: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.cap) return done(new JobFailure(`${this.what} is larger than ${this.cap} bytes`));
    done(null, chunk);
  }
}

/** Streams `download` into `path`, refusing more than `cap` bytes (by Content-Length first); answers the sha256. */
export async function saveDownload(download: Download, path: string, cap: number, what: string): Promise<string> {
  if (download.size !== undefined && download.size > cap) {
    download.body.destroy();
    throw new JobFailure(`${what} is larger than ${cap} bytes`);
  }
  const hash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // The download breaking off (the hub went away) is the hub's failure, not the input's.
  let broken: Error | undefined;
  download.body.once("error", (err) => (broken = err));
  try {
    await pipeline(download.body, new SizeCap(cap, what), tap, fs.createWriteStream(path));
  } catch (err) {
    if (broken !== undefined && !(err instanceof JobFailure)) throw new HubError(`downloading ${what} from the hub failed (${broken.message})`);
    throw err;
  }
  return hash.digest("hex");
}
