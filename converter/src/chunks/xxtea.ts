/**
 * XXTEA exactly as libflist uses it (flist-format.md §4.3: xxtea-c's `_bkey` entry points).
 *
 * Hand-written rather than taken from npm because (a) the variant matters byte for byte (the plaintext
 * length is appended as an extra word, the key is NOT NUL-truncated the way xxtea-c's FIXED_KEY path is),
 * (b) it is ~40 lines with no native code, and (c) the spec's vectors plus every fixture chunk pin it down
 * (test/chunks-transform.test.ts). Words are little-endian; DataView keeps it correct on any host.
 */

const DELTA = 0x9e3779b9;

function toWords(data: Uint8Array, appendLength: boolean): Uint32Array {
  const n = (data.length + 3) >>> 2;
  const v = new Uint32Array(appendLength ? n + 1 : n);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const whole = data.length >>> 2;
  for (let i = 0; i < whole; i++) v[i] = dv.getUint32(i * 4, true);
  // Zero-padded tail word.
  if (whole < n) {
    let w = 0;
    for (let j = whole * 4, s = 0; j < data.length; j++, s += 8) w |= data[j]! << s;
    v[whole] = w >>> 0;
  }
  if (appendLength) v[n] = data.length;
  return v;
}

function toBytes(v: Uint32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setUint32(i * 4, v[i]!, true);
  return out;
}

function keyWords(key: Uint8Array): Uint32Array {
  if (key.length !== 16) throw new Error(`xxtea: key must be 16 bytes, got ${key.length}`);
  return toWords(key, false);
}

/** Encrypt; the ciphertext is 4*(ceil(len/4)+1) bytes. Empty input is rejected (libflist returns NULL). */
export function xxteaEncrypt(data: Uint8Array, key: Uint8Array): Uint8Array {
  if (data.length === 0) throw new Error("xxtea: cannot encrypt empty input");
  const v = toWords(data, true);
  const k = keyWords(key);
  const n = v.length - 1;
  let z = v[n]!;
  let y: number;
  let sum = 0;
  let p = 0;
  let q = 6 + Math.floor(52 / (n + 1));
  while (q-- > 0) {
    sum = (sum + DELTA) >>> 0;
    const e = (sum >>> 2) & 3;
    for (p = 0; p < n; p++) {
      y = v[p + 1]!;
      const mx = (((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (k[(p & 3) ^ e]! ^ z));
      z = v[p] = (v[p]! + mx) >>> 0;
    }
    y = v[0]!;
    const mx = (((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (k[(p & 3) ^ e]! ^ z));
    z = v[n] = (v[n]! + mx) >>> 0;
  }
  return toBytes(v);
}

/** Decrypt and strip the length word; throws when the length word is impossible (wrong key or payload). */
export function xxteaDecrypt(data: Uint8Array, key: Uint8Array): Uint8Array {
  if (data.length === 0 || data.length % 4 !== 0) {
    throw new Error(`xxtea: ciphertext length ${data.length} is not a positive multiple of 4`);
  }
  const v = toWords(data, false);
  const k = keyWords(key);
  const n = v.length - 1;
  let z: number;
  let y = v[0]!;
  let p = 0;
  const q = 6 + Math.floor(52 / (n + 1));
  let sum = (q * DELTA) >>> 0;
  while (sum !== 0) {
    const e = (sum >>> 2) & 3;
    for (p = n; p > 0; p--) {
      z = v[p - 1]!;
      const mx = (((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (k[(p & 3) ^ e]! ^ z));
      y = v[p] = (v[p]! - mx) >>> 0;
    }
    z = v[n]!;
    const mx = (((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + (k[(p & 3) ^ e]! ^ z));
    y = v[0] = (v[0]! - mx) >>> 0;
    sum = (sum - DELTA) >>> 0;
  }
  const m = v[n]!;
  const nb = n * 4;
  if (m < nb - 3 || m > nb) throw new Error("xxtea: invalid key or payload (bad length word)");
  return toBytes(v).subarray(0, m);
}
