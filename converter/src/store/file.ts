/**
 * Directory chunk store (`file:///path`), the embedded default of `npm start`: one file per chunk at
 * `<dir>/<hex[0..2]>/<hex>` (256 fan-out directories keep directories small). Writes go to a temporary
 * file in the same directory and are renamed into place, so a reader or a crash never sees a partial chunk.
 * Keys too long for a file name in hex (0-db takes up to 255 bytes; chunk keys are 16 or 32) are stored as
 * `<hex[0..2]>/<sha256(key) hex>.long`.
 */
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError, type ChunkStore } from "./types.ts";

/** Longest key stored under its own hex name (240 characters, within the usual 255-byte name limit). */
const MAX_HEX_NAME_KEY = 120;

/** Concurrent file-system calls of one exists() call. */
const EXISTS_PARALLEL = 64;

export class FileStore implements ChunkStore {
  readonly description: string;
  private readonly madeDirs = new Set<string>();

  private constructor(private readonly dir: string, description: string) {
    this.description = description;
  }

  static async open(dir: string, description: string): Promise<FileStore> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new StoreError(description, `cannot create directory (${(e as Error).message})`, { cause: e });
    }
    return new FileStore(dir, description);
  }

  private path(key: Uint8Array): { sub: string; file: string } {
    if (key.length === 0) throw new StoreError(this.description, "empty key");
    const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    const hex = bytes.toString("hex");
    const sub = join(this.dir, hex.slice(0, 2));
    const name = bytes.length <= MAX_HEX_NAME_KEY ? hex : `${createHash("sha256").update(bytes).digest("hex")}.long`;
    return { sub, file: join(sub, name) };
  }

  async exists(keys: Uint8Array[]): Promise<boolean[]> {
    const out = new Array<boolean>(keys.length);
    let i = 0;
    const worker = async () => {
      while (i < keys.length) {
        const j = i++;
        try {
          await access(this.path(keys[j]!).file);
          out[j] = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
            throw new StoreError(this.description, `cannot check a chunk (${(e as Error).message})`, { cause: e });
          }
          out[j] = false;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(EXISTS_PARALLEL, keys.length) }, worker));
    return out;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const { sub, file } = this.path(key);
    // Named apart from the chunk, so that the longest chunk names still fit.
    const tmp = join(sub, `.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      if (!this.madeDirs.has(sub)) {
        await mkdir(sub, { recursive: true });
        this.madeDirs.add(sub);
      }
      await writeFile(tmp, value);
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw new StoreError(this.description, `cannot write a chunk (${(e as Error).message})`, { cause: e });
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    try {
      const buf = await readFile(this.path(key).file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new StoreError(this.description, `cannot read a chunk (${(e as Error).message})`, { cause: e });
    }
  }

  async close(): Promise<void> {}
}
