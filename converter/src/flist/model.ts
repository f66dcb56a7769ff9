/**
 * The in-memory shape of a flist tree, shared by the reader, the writer, ingestion
 * (tar/directory → tree) and merge. It mirrors the Cap'n Proto `Dir`/`Inode` records of
 * docs/flist-format.md §2, without their encoding details (keys, ACL records, XOR defaults).
 */

/** One 512 KiB piece of a regular file. */
export interface Block {
  /** Chunk-store key: BLAKE2b-128 of the stored (compressed + encrypted) value. capnp `FileBlock.hash`. */
  hash: Uint8Array;
  /** Decipher key: BLAKE2b-128 of the plain piece. capnp `FileBlock.key`. */
  key: Uint8Array;
}

/** Owner of an entry; names are the decimal ids when the source had no name (as zflist does). */
export interface Owner {
  uid: number;
  gid: number;
  user: string;
  group: string;
}

interface NodeBase {
  /** Base name; "" only for the root directory. Never contains "/". */
  name: string;
  /** Permission bits only (07777, including setuid/setgid/sticky); the type comes from `kind`. */
  mode: number;
  owner: Owner;
  /** u32 epoch seconds, taken from the input (never the wall clock, so output is deterministic). */
  mtime: number;
  ctime: number;
  /** Bytes: file size, link target length, 0 for specials, the source's st_size (usually 4096) for dirs. */
  size: number;
}

export interface DirNode extends NodeBase {
  kind: "dir";
  /** In listing order (the writer keeps this order; zflist's putdir puts sub-directories first, then the rest, each sorted by bytes). */
  children: FlistNode[];
}

export interface FileNode extends NodeBase {
  kind: "file";
  blocks: Block[];
}

export interface LinkNode extends NodeBase {
  kind: "link";
  /** Raw link target, relative or absolute. */
  target: string;
}

export type SpecialType = "socket" | "block" | "chardev" | "fifo" | "unknown";

export interface SpecialNode extends NodeBase {
  kind: "special";
  type: SpecialType;
  /** "major,minor" for devices, "(nothing)" for fifos and sockets (libflist's convention). */
  data: string;
}

export type FlistNode = DirNode | FileNode | LinkNode | SpecialNode;

/** The `metadata` table: key → raw TEXT value (JSON for the known keys, see docs/flist-format.md §1.4). */
export type Metadata = Map<string, string>;

export interface FlistTree {
  root: DirNode;
  metadata: Metadata;
}
