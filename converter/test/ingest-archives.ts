/**
 * Builds small tar / tar.gz archives in memory for the ingestion tests (hostile ones included), with tar-stream's
 * packer or, where it refuses, by hand.
 */
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

export interface Member {
  name: string;
  type?: "file" | "link" | "symlink" | "directory" | "block-device" | "character-device" | "fifo";
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Epoch seconds (default 1700000000). */
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (forces a PAX header). */
  pax?: Record<string, string>;
}

/** A tar archive (with its two end blocks) holding `members` in order. */
export async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) out.push(Buffer.from(chunk));
  })();
  for (const m of members) {
    const type = m.type ?? "file";
    const data = m.data === undefined ? undefined : Buffer.from(m.data);
    const header = {
      name: m.name,
      type,
      mode: m.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      uname: m.uname ?? "root",
      gname: m.gname ?? "root",
      mtime: new Date((m.mtime ?? 1_700_000_000) * 1000),
      size: type === "file" ? (data?.length ?? 0) : 0,
      ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
      ...(m.devmajor !== undefined ? { devmajor: m.devmajor, devminor: m.devminor ?? 0 } : {}),
      ...(m.pax !== undefined ? { pax: m.pax } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(header, data ?? Buffer.alloc(0), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

export async function makeTarGz(members: Member[]): Promise<Buffer> {
  return gzipSync(await makeTar(members));
}

/** A 512-byte USTAR header written by hand (for what tar-stream's packer will not produce). */
export function rawHeader(fields: { name: string; typeflag: string; size?: number; linkname?: string }): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 100, "latin1");
  block.write("0000644\0", 100);
  block.write("0000000\0", 108);
  block.write("0000000\0", 116);
  block.write((fields.size ?? 0).toString(8).padStart(11, "0") + "\0", 124);
  block.write("14524436400\0", 136);
  block.write(fields.typeflag, 156);
  if (fields.linkname) block.write(fields.linkname, 157, 100, "latin1");
  block.write("ustar\0" + "00", 257, "latin1");
  fixChecksum(block);
  return block;
}

export function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
}

/** Pads data to whole 512-byte blocks. */
export function padBlock(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}
