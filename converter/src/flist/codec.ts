/**
 * Cap'n Proto encoding of the two entry kinds of the flist database (`Dir` and `ACI`,
 * docs/flist-format.md §2), as plain records. The generated `flist.ts` (capnp-es) does the wire work:
 * it reads multi-segment messages, far pointers and negative offsets as written by c-capnproto,
 * and writes single-segment unpacked messages, which zflist, rfs and 0-fs accept.
 */
import { Message, Text, type Struct, utils } from "capnp-es";
import { ACI, Dir, Inode_Attributes_Which, Special_Type } from "./flist.ts";

export type SpecialTypeCode = 0 | 1 | 2 | 3 | 4;

export type InodeAttributes =
  | { kind: "dir"; key: string }
  | { kind: "file"; blockSize: number; blocks: { hash: Uint8Array; key: Uint8Array }[] }
  | { kind: "link"; target: string }
  | { kind: "special"; type: number; data: Uint8Array };

export interface InodeRecord {
  name: string;
  size: bigint;
  attributes: InodeAttributes;
  aclkey: string;
  modificationTime: number;
  creationTime: number;
}

export interface DirRecord {
  name: string;
  location: string;
  contents: InodeRecord[];
  parent: string;
  size: bigint;
  aclkey: string;
  modificationTime: number;
  creationTime: number;
}

export interface AciRecord {
  uname: string;
  gname: string;
  mode: number;
  uid: bigint;
  gid: bigint;
}

/** capnp-es returns views into the message buffer; copy so a tree does not pin whole messages. */
function copyBytes(view: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(view);
}

/**
 * Checks the stream framing (segment table) before capnp-es sees it: capnp-es 0.0.16 allocates an
 * array of `segmentCount` slots before checking the count against the buffer, so 4 bytes of
 * garbage would make it try to allocate billions of entries.
 */
function framedMessage(value: Uint8Array): Message {
  if (value.length < 8 || value.length % 8 !== 0) {
    throw new Error(`message length ${value.length} is not a positive multiple of 8 bytes`);
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const segments = view.getUint32(0, true) + 1;
  const header = 4 * (segments + 1) + (segments % 2 === 0 ? 4 : 0);
  if (header > value.length) throw new Error(`segment table of ${segments} segments exceeds the message`);
  let body = 0;
  for (let i = 0; i < segments; i++) body += view.getUint32(4 + 4 * i, true) * 8;
  if (header + body > value.length) throw new Error(`segments (${body} bytes) exceed the message`);
  const message = new Message(value, false);
  // capnp-es charges 8 per pointer object it creates against a 64 MiB default; decoding a real
  // entry creates far fewer than one per byte, so allow that and no more (bounds amplification by
  // pointers shared between many list elements).
  message._capnp.traversalLimit = 8 * value.length + 65536;
  return message;
}

/**
 * Every element of a legitimately encoded Inode or FileBlock list occupies at least one word, so a
 * list longer than the message has words is hostile (a composite list of zero-sized elements passes
 * capnp-es' bounds checks and would otherwise make us materialise billions of default records).
 */
function checkedLength(length: number, value: Uint8Array, what: string): number {
  if (length > value.length / 8) throw new Error(`${what} list of ${length} elements cannot fit in a ${value.length}-byte message`);
  return length;
}

export interface DecodeOptions {
  /**
   * Entry names and link targets must be valid UTF-8 (default). The tree model holds strings, so
   * other bytes cannot be written back faithfully (directory keys hash the exact bytes); `false`
   * decodes them lossily (U+FFFD), which is fine for listing only.
   */
  strictUtf8?: boolean;
}

// ignoreBOM: a name may legitimately start with U+FEFF; keep it.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text field `index` of `struct`, decoded strictly (capnp-es' own getters replace bad bytes silently). */
function strictText(index: number, struct: Struct, what: string): string {
  const text = Text.fromPointer(utils.getPointer(index, struct));
  if (utils.isNull(text)) return "";
  const content = utils.getContent(text);
  const bytes = new Uint8Array(content.segment.buffer, content.byteOffset, text.length);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new Error(`${what} ${JSON.stringify(new TextDecoder().decode(bytes))} is not valid UTF-8`);
  }
}

export function decodeDir(value: Uint8Array, options: DecodeOptions = {}): DirRecord {
  const strict = options.strictUtf8 ?? true;
  const dir = framedMessage(value).getRoot(Dir);
  const contents: InodeRecord[] = [];
  const list = dir.contents;
  checkedLength(list.length, value, "contents");
  for (const inode of list) {
    const name = strict ? strictText(0, inode, "entry name") : inode.name;
    const attrs = inode.attributes;
    const which = attrs.which();
    let attributes: InodeAttributes;
    switch (which) {
      case Inode_Attributes_Which.DIR:
        attributes = { kind: "dir", key: attrs.dir.key };
        break;
      case Inode_Attributes_Which.FILE: {
        const file = attrs.file;
        const blocks: { hash: Uint8Array; key: Uint8Array }[] = [];
        const list = file.blocks;
        checkedLength(list.length, value, "blocks");
        for (const block of list) {
          blocks.push({ hash: copyBytes(block.hash.toUint8Array()), key: copyBytes(block.key.toUint8Array()) });
        }
        attributes = { kind: "file", blockSize: file.blockSize, blocks };
        break;
      }
      case Inode_Attributes_Which.LINK:
        attributes = { kind: "link", target: strict ? strictText(0, attrs.link, `link target of "${name}"`) : attrs.link.target };
        break;
      case Inode_Attributes_Which.SPECIAL: {
        const special = attrs.special;
        attributes = { kind: "special", type: special.type, data: copyBytes(special.data.toUint8Array()) };
        break;
      }
      default:
        throw new Error(`inode "${name}" has unknown attributes discriminant ${String(which)}`);
    }
    contents.push({
      name,
      size: inode.size,
      attributes,
      aclkey: inode.aclkey,
      modificationTime: inode.modificationTime,
      creationTime: inode.creationTime,
    });
  }
  return {
    name: dir.name,
    location: dir.location,
    contents,
    parent: dir.parent,
    size: dir.size,
    aclkey: dir.aclkey,
    modificationTime: dir.modificationTime,
    creationTime: dir.creationTime,
  };
}

export function decodeAci(value: Uint8Array): AciRecord {
  const aci = framedMessage(value).getRoot(ACI);
  return { uname: aci.uname, gname: aci.gname, mode: aci.mode, uid: aci.uid, gid: aci.gid };
}

function toUint8Array(buffer: ArrayBuffer): Uint8Array {
  return new Uint8Array(buffer);
}

export function encodeDir(record: DirRecord): Uint8Array {
  const message = new Message();
  const dir = message.initRoot(Dir);
  dir.name = record.name;
  dir.location = record.location;
  dir.parent = record.parent;
  dir.size = record.size;
  dir.aclkey = record.aclkey;
  dir.modificationTime = record.modificationTime;
  dir.creationTime = record.creationTime;
  const list = dir._initContents(record.contents.length);
  record.contents.forEach((src, i) => {
    const inode = list.get(i);
    inode.name = src.name;
    inode.size = src.size;
    inode.aclkey = src.aclkey;
    inode.modificationTime = src.modificationTime;
    inode.creationTime = src.creationTime;
    const attrs = inode.attributes;
    const a = src.attributes;
    switch (a.kind) {
      case "dir":
        attrs._initDir().key = a.key;
        break;
      case "file": {
        const file = attrs._initFile();
        file.blockSize = a.blockSize;
        // An empty file gets a null `blocks` pointer, as libflist writes it.
        if (a.blocks.length > 0) {
          const blocks = file._initBlocks(a.blocks.length);
          a.blocks.forEach((b, j) => {
            const block = blocks.get(j);
            block._initHash(b.hash.length).copyBuffer(b.hash);
            block._initKey(b.key.length).copyBuffer(b.key);
          });
        }
        break;
      }
      case "link":
        attrs._initLink().target = a.target;
        break;
      case "special": {
        const special = attrs._initSpecial();
        special.type = a.type as Special_Type;
        special._initData(a.data.length).copyBuffer(a.data);
        break;
      }
    }
  });
  return toUint8Array(message.toArrayBuffer());
}

export function encodeAci(record: AciRecord): Uint8Array {
  const message = new Message();
  const aci = message.initRoot(ACI);
  aci.uname = record.uname;
  aci.gname = record.gname;
  aci.mode = record.mode;
  aci.id = 0;
  aci.uid = record.uid;
  aci.gid = record.gid;
  return toUint8Array(message.toArrayBuffer());
}
