/**
 * XXTEA exactly as libflist uses it (flist-format.md §4.3: xxtea-c's `_bkey` entry points).
 *
 * Hand-written rather than taken from npm because (a) the variant matters byte for byte (the plaintext
 * length is appended as an extra word, the key is NOT NUL-truncated the way xxtea-c's FIXED_KEY path is),
 * (b) it is a few dozen lines with no native code, and (c) the spec's vectors plus every fixture chunk pin it
 * down (test/chunks-transform.test.ts).
 *
 * Speed: it runs in place on an Int32Array view of the output buffer with int32 arithmetic (`| 0`), which
 * keeps V8 on small integers; words are little-endian, which is the host order on every platform Node runs
 * this project on (checked below, with a byte-swapping fallback).
 */

const DELTA = 0x9e3779b9 | 0;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swapWords(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    const a = b[i]!, c = b[i + 1]!;
    b[i] = b[i + 3]!; b[i + 1] = b[i + 2]!; b[i + 2] = c; b[i + 3] = a;
  }
}

function keyWords(key: Uint8Array): Int32Array {
  if (key.length !== 16) throw new Error(`xxtea: key must be 16 bytes, got ${key.length}`);
  const k = new Int32Array(4);
  for (let i = 0; i < 4; i++) k[i] = key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24);
  return k;
}

function encryptWords(v: Int32Array, k: Int32Array): void {
  const n = v.length - 1;
  const k0 = k[0]!, k1 = k[1]!, k2 = k[2]!, k3 = k[3]!;
  const key = (i: number) => (i === 0 ? k0 : i === 1 ? k1 : i === 2 ? k2 : k3);
  let z = v[n]!;
  let y: number;
  let sum = 0;
  let p: number;
  let q = 6 + Math.floor(52 / (n + 1));
  while (q-- > 0) {
    sum = (sum + DELTA) | 0;
    const e = (sum >>> 2) & 3;
    for (p = 0; p < n; p++) {
      y = v[p + 1]!;
      const mx = ((((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (key((p & 3) ^ e) ^ z))) | 0;
      z = v[p] = (v[p]! + mx) | 0;
    }
    y = v[0]!;
    const mx = ((((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (key((p & 3) ^ e) ^ z))) | 0;
    z = v[n] = (v[n]! + mx) | 0;
  }
}

function decryptWords(v: Int32Array, k: Int32Array): void {
  const n = v.length - 1;
  const k0 = k[0]!, k1 = k[1]!, k2 = k[2]!, k3 = k[3]!;
  const key = (i: number) => (i === 0 ? k0 : i === 1 ? k1 : i === 2 ? k2 : k3);
  let z: number;
  let y = v[0]!;
  let p: number;
  const q = 6 + Math.floor(52 / (n + 1));
  let sum = Math.imul(q, DELTA);
  while (sum !== 0) {
    const e = (sum >>> 2) & 3;
    for (p = n; p > 0; p--) {
      z = v[p - 1]!;
      const mx = ((((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (key((p & 3) ^ e) ^ z))) | 0;
      y = v[p] = (v[p]! - mx) | 0;
    }
    z = v[n]!;
    const mx = ((((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (key((p & 3) ^ e) ^ z))) | 0;
    y = v[0] = (v[0]! - mx) | 0;
    sum = (sum - DELTA) | 0;
  }
}

/** Ciphertext size for `n` plaintext bytes: the words of the zero-padded input plus the length word. */
export const xxteaEncryptedLength = (n: number): number => 4 * (((n + 3) >>> 2) + 1);

/** Encrypt; the ciphertext is 4*(ceil(len/4)+1) bytes. Empty input is rejected (libflist returns NULL). */
export function xxteaEncrypt(data: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(xxteaEncryptedLength(data.length));
  xxteaEncryptInto(data, key, out);
  return out;
}

/**
 * Encrypt into `out` (4-byte aligned, at least xxteaEncryptedLength(data.length) bytes; it may be the memory
 * `data` was computed from, as long as `data` itself does not overlap it) and return the ciphertext length.
 */
export function xxteaEncryptInto(data: Uint8Array, key: Uint8Array, out: Uint8Array): number {
  if (data.length === 0) throw new Error("xxtea: cannot encrypt empty input");
  const len = xxteaEncryptedLength(data.length);
  if (out.length < len || out.byteOffset % 4 !== 0) throw new Error("xxtea: output buffer too small or unaligned");
  const k = keyWords(key);
  out.set(data);
  out.fill(0, data.length, len);
  const bytes = out.subarray(0, len);
  const v = new Int32Array(out.buffer, out.byteOffset, len >>> 2);
  if (!LITTLE_ENDIAN) swapWords(bytes);
  v[v.length - 1] = data.length;
  encryptWords(v, k);
  if (!LITTLE_ENDIAN) swapWords(bytes);
  return len;
}

/** Decrypt and strip the length word; throws when the length word is impossible (wrong key or payload). */
export function xxteaDecrypt(data: Uint8Array, key: Uint8Array): Uint8Array {
  if (data.length === 0 || data.length % 4 !== 0) {
    throw new Error(`xxtea: ciphertext length ${data.length} is not a positive multiple of 4`);
  }
  const k = keyWords(key);
  const out = data.slice();
  const v = new Int32Array(out.buffer);
  if (!LITTLE_ENDIAN) swapWords(out);
  decryptWords(v, k);
  if (!LITTLE_ENDIAN) swapWords(out);
  const m = v[v.length - 1]! >>> 0;
  const nb = (v.length - 1) * 4;
  if (m < nb - 3 || m > nb) throw new Error("xxtea: invalid key or payload (bad length word)");
  return out.subarray(0, m);
}
