/**
 * The per-chunk transform of docs/flist-format.md §3.2 (libflist `libflist_chunk_encrypt`), and its inverse (§3.6).
 *
 *   key  = BLAKE2b-128(plain)     decipher key (FileBlock.key)
 *   enc  = XXTEA(snappy(plain), key)
 *   hash = BLAKE2b-128(enc)       store key (FileBlock.hash)
 *
 * The compressed bytes must equal libsnappy 1.1.9's so that `hash` equals zflist's and chunks dedup against
 * data already on the hub (docs/flist-format.md §3.7): see ./snappy.ts for why npm `snappy` alone is not enough.
 */
import snappy from "snappy";
import { blake2b128 } from "../crypto/blake2b.ts";
import { maxCompressedLength, snappyCompress } from "./snappy.ts";
import { xxteaDecrypt, xxteaEncrypt, xxteaEncryptedLength, xxteaEncryptInto } from "./xxtea.ts";

/** libflist CHUNK_SIZE: files are cut into pieces of exactly this size, only the last one shorter (docs/flist-format.md §3.1). */
export const CHUNK_SIZE = 512 * 1024;

export interface EncryptedChunk {
  /** BLAKE2b-128 of `data`: the store key. */
  hash: Uint8Array;
  /** BLAKE2b-128 of the plain piece: the decipher key. */
  key: Uint8Array;
  /** The stored value. */
  data: Uint8Array;
}

/** Unkeyed BLAKE2b-128 (the length is in the parameter block: not a truncated BLAKE2b-512). */
export { blake2b128 };

export function encryptChunk(plain: Uint8Array): EncryptedChunk {
  if (plain.length === 0) throw new Error("chunk: empty pieces are never stored (empty files have no blocks)");
  if (plain.length > CHUNK_SIZE) throw new Error(`chunk: piece of ${plain.length} bytes exceeds ${CHUNK_SIZE}`);
  const key = blake2b128(plain);
  const comp = compress(plain);
  const data = xxteaEncrypt(comp, key);
  return { hash: blake2b128(data), key, data };
}

/**
 * libsnappy 1.1.9 output. The native compressor (napi `snappy`, several times faster on compressible data) gives
 * the same bytes for every 64 KiB fragment larger than 8 KiB (full 2^14-entry hash table, see ./snappy.ts),
 * i.e. all fragments but possibly the last. Snappy compresses fragments independently (output = varint length
 * + the fragments' elements), so a short last fragment is compressed by the TS port and spliced on. Equality
 * with the TS port on whole inputs is checked by test/chunks-transform.test.ts.
 */
export function compress(plain: Uint8Array): Uint8Array {
  const lastFragment = plain.length % FRAGMENT || FRAGMENT;
  if (lastFragment > 8192) return nativeCompress(plain);
  if (plain.length <= FRAGMENT) return snappyCompress(plain);
  const headLength = plain.length - lastFragment;
  const head = nativeCompress(plain.subarray(0, headLength));
  const tail = snappyCompress(plain.subarray(headLength));
  const total = varint(plain.length);
  const headBody = head.subarray(varint(headLength).length);
  const tailBody = tail.subarray(varint(lastFragment).length);
  const out = new Uint8Array(total.length + headBody.length + tailBody.length);
  out.set(total, 0);
  out.set(headBody, total.length);
  out.set(tailBody, total.length + headBody.length);
  return out;
}

const FRAGMENT = 65536;

// copyOutputData: napi's default hands back memory V8 does not account for, so garbage buffers are not
// collected in time and RSS grows by ~1 MiB per chunk (measured: +412 MiB for 400 chunks, +14 MiB with it).
const nativeCompress = (plain: Uint8Array): Uint8Array => snappy.compressSync(plain, { copyOutputData: true });

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Largest stored value of one chunk (incompressible 512 KiB piece, snappy's worst case, XXTEA length word). */
export const MAX_STORED_SIZE = xxteaEncryptedLength(maxCompressedLength(CHUNK_SIZE));

/**
 * encryptChunk without allocating the output: the plain piece is the first `len` bytes of `buf`, and the
 * stored value replaces it in `buf` (which must hold MAX_STORED_SIZE bytes). Lets the pipeline recycle a
 * fixed set of buffers instead of leaving ~1 MiB of garbage per chunk for the GC.
 */
export function encryptChunkInPlace(
  buf: ArrayBufferLike,
  len: number,
  times?: StageTimes,
): { hash: Uint8Array; key: Uint8Array; length: number } {
  if (buf.byteLength < MAX_STORED_SIZE) throw new Error(`chunk: in-place buffer must hold ${MAX_STORED_SIZE} bytes`);
  const plain = new Uint8Array(buf, 0, len);
  if (len === 0) throw new Error("chunk: empty pieces are never stored (empty files have no blocks)");
  if (len > CHUNK_SIZE) throw new Error(`chunk: piece of ${len} bytes exceeds ${CHUNK_SIZE}`);
  const t0 = times ? performance.now() : 0;
  const key = blake2b128(plain);
  const t1 = times ? performance.now() : 0;
  const comp = compress(plain); // a separate buffer: `plain` may be overwritten from here on
  const t2 = times ? performance.now() : 0;
  const out = new Uint8Array(buf);
  const length = xxteaEncryptInto(comp, key, out);
  const t3 = times ? performance.now() : 0;
  const hash = blake2b128(out.subarray(0, length));
  if (times) {
    times.hashing += t1 - t0 + (performance.now() - t3);
    times.compression += t2 - t1;
    times.encryption += t3 - t2;
  }
  return { hash, key, length };
}

/**
 * Milliseconds spent per stage of the transform (docs/benchmarks.md "flist create"). Each stage is synchronous
 * computation on the calling thread, so its wall time is its CPU time unless the thread is preempted.
 */
export interface StageTimes {
  hashing: number;
  compression: number;
  encryption: number;
}

export class ChunkIntegrityError extends Error {
  override name = "ChunkIntegrityError";
}

/** Reads the raw-snappy preamble (uncompressed length as a little-endian base-128 varint). */
function snappyLength(comp: Uint8Array): number {
  let len = 0;
  for (let i = 0, shift = 0; i < 5 && i < comp.length; i++, shift += 7) {
    const b = comp[i]!;
    len += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return len;
  }
  throw new ChunkIntegrityError("snappy: bad length preamble");
}

/**
 * Inverse transform with every check a reader should make: `hash` (when given) matches the stored value,
 * the XXTEA length word is sane, snappy decodes to at most one chunk, and BLAKE2b-128(plain) == key.
 * `label` names the chunk in errors (hex hash), so tampering is reported precisely.
 */
export function decryptChunk(data: Uint8Array, key: Uint8Array, hash?: Uint8Array): Uint8Array {
  let name: string | undefined;
  const label = () => (name ??= hex(hash ?? blake2b128(data))); // only needed for an error
  if (hash && !equalBytes(blake2b128(data), hash)) {
    throw new ChunkIntegrityError(`chunk ${label()}: stored value does not hash to its key (corrupt or tampered)`);
  }
  let comp: Uint8Array;
  try {
    comp = xxteaDecrypt(data, key);
  } catch (e) {
    throw new ChunkIntegrityError(`chunk ${label()}: ${(e as Error).message}`);
  }
  let plain: Uint8Array;
  try {
    // Check the announced size before letting snappy allocate it: a hostile value must not cost memory.
    const len = snappyLength(comp);
    if (len === 0 || len > CHUNK_SIZE) throw new Error(`announces ${len} bytes, outside 1..${CHUNK_SIZE}`);
    const buf = snappy.uncompressSync(comp, { asBuffer: true, copyOutputData: true }) as Buffer; // see compress()
    plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new ChunkIntegrityError(`chunk ${label()}: snappy decode failed (${(e as Error).message})`);
  }
  if (!equalBytes(blake2b128(plain), key)) {
    throw new ChunkIntegrityError(`chunk ${label()}: integrity mismatch (plain data does not hash to decipher key ${hex(key)})`);
  }
  return plain;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function fromHex(s: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`not hex: ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
