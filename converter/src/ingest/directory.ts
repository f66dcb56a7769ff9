/**
 * Walks a local directory with `lstat` (never following symlinks) and yields the same entries as the tar reader, so
 * both sources share one ingestion path and one set of rules.
 *
 * Like zflist's putdir: owners are named from the host's passwd/group (decimal when unknown), directory sizes are
 * `st_size`, symlinks are stored as links, devices/fifos/sockets as specials, and a second name of an inode becomes
 * a hardlink entry (an independent file sharing the first name's blocks). Unlike zflist, `ctime` is the file's
 * mtime: the inode change time differs between two copies of the same tree and would break reproducible output.
 */
import fs from "node:fs";
import path from "node:path";
import type { Owner } from "../flist/model.ts";
import { type OwnerNames, hostOwnerNames, nameOrDecimal } from "./owners.ts";
import { DEFAULT_CAPS, type IngestCaps, IngestError, checkLinkTarget, checkShape, decodeName, toU32Seconds } from "./rules.ts";
import type { ArchiveEntry } from "./tar.ts";
import type { EntryAttrs } from "./tree.ts";

export interface WalkOptions {
  caps?: Partial<IngestCaps>;
  owners?: OwnerNames;
}

export interface WalkCounters {
  entries: number;
}

/** Yields the root (`parts: []`) first, then every entry below it, depth-first. File bodies must be read in order. */
export async function* walkDirectory(
  root: string,
  options: WalkOptions = {},
  counters: WalkCounters = { entries: 0 },
): AsyncGenerator<ArchiveEntry> {
  const caps = { ...DEFAULT_CAPS, ...options.caps };
  const owners = options.owners ?? hostOwnerNames();
  const rootStat = await fs.promises.lstat(root);
  if (!rootStat.isDirectory()) throw new IngestError(root, "unsupported-type", "not a directory");
  yield { kind: "dir", entry: ".", parts: [], attrs: attrsOf(rootStat, owners) };

  /** First path of every multiply-linked inode, by "dev:ino". */
  const inodes = new Map<string, string[]>();
  const stack: string[][] = [[]];
  while (stack.length > 0) {
    const dirParts = stack.pop() as string[];
    const dirPath = path.join(root, ...dirParts);
    const names = await fs.promises.readdir(dirPath, { encoding: "buffer" });
    for (const raw of names) {
      const label = path.posix.join(".", ...dirParts, raw.toString("utf8"));
      const name = decodeName(raw, label);
      const parts = [...dirParts, name];
      const entry = parts.join("/");
      if (++counters.entries > caps.maxEntries) {
        throw new IngestError(entry, "entry-count-cap", `directory has more than ${caps.maxEntries} entries`);
      }
      checkShape(parts, entry, caps);
      const full = path.join(dirPath, name);
      const stat = await fs.promises.lstat(full);
      const attrs = attrsOf(stat, owners);
      if (stat.isDirectory()) {
        yield { kind: "dir", entry, parts, attrs };
        stack.push(parts);
        continue;
      }
      if (stat.nlink > 1) {
        const id = `${stat.dev}:${stat.ino}`;
        const first = inodes.get(id);
        if (first !== undefined) {
          yield { kind: "hardlink", entry, parts, attrs, target: first };
          continue;
        }
        inodes.set(id, parts);
      }
      if (stat.isFile()) {
        yield { kind: "file", entry, parts, attrs, size: stat.size, body: readExactly(full, stat.size, entry) };
      } else if (stat.isSymbolicLink()) {
        const target = decodeName(await fs.promises.readlink(full, { encoding: "buffer" }), entry);
        checkLinkTarget(target, entry, caps);
        yield { kind: "link", entry, parts, attrs, target };
      } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
        const { major, minor } = splitRdev(stat.rdev);
        const type = stat.isBlockDevice() ? "block" : "chardev";
        yield { kind: "special", entry, parts, attrs, type, data: `${major},${minor}` };
      } else if (stat.isFIFO() || stat.isSocket()) {
        yield { kind: "special", entry, parts, attrs, type: stat.isFIFO() ? "fifo" : "socket", data: "(nothing)" };
      } else {
        throw new IngestError(entry, "unsupported-type", "unsupported file type");
      }
    }
  }
}

function attrsOf(stat: fs.Stats, owners: OwnerNames): EntryAttrs {
  const owner: Owner = {
    uid: stat.uid,
    gid: stat.gid,
    user: nameOrDecimal(owners.user(stat.uid), stat.uid),
    group: nameOrDecimal(owners.group(stat.gid), stat.gid),
  };
  const mtime = toU32Seconds(stat.mtimeMs / 1000);
  return { mode: stat.mode & 0o7777, owner, mtime, ctime: mtime };
}

/** glibc's `major()`/`minor()` for a Linux dev_t. */
function splitRdev(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  const major = ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
  const minor = (low & 0xff) | ((low >>> 12) & 0xfff00);
  return { major, minor };
}

/** The file's bytes, failing if it changed size while being read (the flist would describe another file). */
async function* readExactly(file: string, size: number, entry: string): AsyncGenerator<Uint8Array> {
  let read = 0;
  // 1 MiB reads: two chunks per system call instead of thirty-two at the 64 KiB default.
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    read += chunk.byteLength;
    if (read > size) break;
    yield chunk;
  }
  if (read !== size) throw new IngestError(entry, "truncated", `file changed while being read (${read} bytes, expected ${size})`);
}
