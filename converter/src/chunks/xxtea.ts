/**
 * XXTEA exactly as libflist uses it (docs/flist-format.md §3.3: xxtea-c's `_bkey` entry points).
 *
 * Hand-written rather than taken from npm because (a) the variant matters byte for byte (the plaintext
 * length is appended as an extra word, the key is NOT NUL-truncated the way xxtea-c's FIXED_KEY path is),
 * (b) it is a few dozen lines with no native code, and (c) the spec's vectors plus every fixture chunk pin it
 * down (test/chunks-transform.test.ts).
 *
 * Encryption (the pipeline's hot path) runs as generated WebAssembly (./wasm.ts), ~1.5x the speed of the
 * same loop in JS; decryption (reading back) stays in JS on an Int32Array, so the round-trip tests check two
 * independent implementations against each other. Words are little-endian: WebAssembly memory always is, and
 * the JS side checks the host order (every platform Node runs this project on is little-endian).
 */
import { ensureMemory, I32, instantiate, op, type WasmFunction, type WasmMemory } from "./wasm.ts";

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

/**
 * run(ptr: i32, n: i32): XXTEA-encrypts the n little-endian words at ptr in place (n >= 2), with the key's
 * four words at memory offset 0. The standard loop: rounds = 6 + 52/n, DELTA 0x9e3779b9,
 * MX = (((z>>>5)^(y<<2)) + ((y>>>3)^(z<<4))) ^ ((sum^y) + (k[(p&3)^e]^z)).
 * The inner loop is unrolled by four: p is a multiple of 4 at each unrolled step, so its four key words
 * k[e], k[1^e], k[2^e], k[3^e] are loaded into locals once per round instead of computing and loading
 * k[(p&3)^e] per word (measured on the benchmark tree: encryption CPU −30 %, docs/benchmarks.md).
 */
function buildEncrypt(): WasmFunction {
  const PTR = 0, N = 1, Z = 2, Y = 3, SUM = 4, P = 5, Q = 6, E = 7, LAST = 8, ADDR = 9, K = 10; // K..K+3
  const code: number[] = [];
  const emit = (...parts: number[][]) => { for (const x of parts) code.push(...x); };
  const keyFromMemory = () => emit(op.get(P), op.i32const(3), op.i32and, op.get(E), op.i32xor, op.i32const(2), op.i32shl, op.i32load(0));
  const mx = (key: () => void) => {
    emit(
      op.get(Z), op.i32const(5), op.i32shru, op.get(Y), op.i32const(2), op.i32shl, op.i32xor,
      op.get(Y), op.i32const(3), op.i32shru, op.get(Z), op.i32const(4), op.i32shl, op.i32xor, op.i32add,
      op.get(SUM), op.get(Y), op.i32xor);
    key();
    emit(op.get(Z), op.i32xor, op.i32add, op.i32xor);
  };
  emit(op.get(N), op.i32const(1), op.i32sub, op.set(LAST));
  emit(op.i32const(6), op.i32const(52), op.get(N), op.i32divu, op.i32add, op.set(Q));
  emit(op.get(PTR), op.get(LAST), op.i32const(2), op.i32shl, op.i32add, op.i32load(), op.set(Z)); // z = v[last]
  emit(op.block, op.loop); // rounds
  emit(op.get(Q), op.i32eqz, op.brIf(1));
  emit(op.get(Q), op.i32const(1), op.i32sub, op.set(Q));
  emit(op.get(SUM), op.i32const(DELTA), op.i32add, op.set(SUM));
  emit(op.get(SUM), op.i32const(2), op.i32shru, op.i32const(3), op.i32and, op.set(E));
  for (let j = 0; j < 4; j++) emit(op.i32const(j), op.get(E), op.i32xor, op.i32const(2), op.i32shl, op.i32load(0), op.set(K + j));
  emit(op.i32const(0), op.set(P), op.get(PTR), op.set(ADDR));
  emit(op.block, op.loop); // p = 0, 4, 8 … while p + 4 <= last
  emit(op.get(P), op.i32const(4), op.i32add, op.get(LAST), op.i32gtu, op.brIf(1));
  for (let j = 0; j < 4; j++) {
    emit(op.get(ADDR), op.i32load(4 * j + 4), op.set(Y)); // y = v[p+j+1]
    emit(op.get(ADDR), op.get(ADDR), op.i32load(4 * j));
    mx(() => emit(op.get(K + j)));
    emit(op.i32add, op.tee(Z), op.i32store(4 * j)); // z = v[p+j] += mx
  }
  emit(op.get(P), op.i32const(4), op.i32add, op.set(P), op.get(ADDR), op.i32const(16), op.i32add, op.set(ADDR));
  emit(op.br(0), op.end, op.end);
  emit(op.block, op.loop); // the rest: p .. last-1
  emit(op.get(P), op.get(LAST), op.i32ltu, op.i32eqz, op.brIf(1));
  emit(op.get(ADDR), op.i32load(4), op.set(Y)); // y = v[p+1]
  emit(op.get(ADDR), op.get(ADDR), op.i32load(0));
  mx(keyFromMemory);
  emit(op.i32add, op.tee(Z), op.i32store(0)); // z = v[p] += mx
  emit(op.get(P), op.i32const(1), op.i32add, op.set(P), op.get(ADDR), op.i32const(4), op.i32add, op.set(ADDR));
  emit(op.br(0), op.end, op.end);
  emit(op.get(PTR), op.i32load(), op.set(Y)); // y = v[0]; p = last, ADDR = &v[last]
  emit(op.get(ADDR), op.get(ADDR), op.i32load(0));
  mx(keyFromMemory);
  emit(op.i32add, op.tee(Z), op.i32store(0));
  emit(op.br(0), op.end, op.end);
  return { params: [I32, I32], locals: [[12, I32]], code };
}

let encryptor: { run: (ptr: number, n: number) => void; memory: WasmMemory } | null = null;

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
 * Encrypt into `out` (at least xxteaEncryptedLength(data.length) bytes; it may be the memory
 * `data` was computed from, as long as `data` itself does not overlap it) and return the ciphertext length.
 */
export function xxteaEncryptInto(data: Uint8Array, key: Uint8Array, out: Uint8Array): number {
  if (data.length === 0) throw new Error("xxtea: cannot encrypt empty input");
  const len = xxteaEncryptedLength(data.length);
  if (out.length < len) throw new Error("xxtea: output buffer too small");
  if (key.length !== 16) throw new Error(`xxtea: key must be 16 bytes, got ${key.length}`);
  const w = (encryptor ??= instantiate(buildEncrypt(), 16));
  ensureMemory(w.memory, 16 + len);
  const mem = new Uint8Array(w.memory.buffer);
  mem.set(key, 0);
  mem.set(data, 16);
  mem.fill(0, 16 + data.length, 16 + len);
  new DataView(w.memory.buffer).setUint32(16 + len - 4, data.length, true);
  w.run(16, len >>> 2);
  out.set(mem.subarray(16, 16 + len));
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
