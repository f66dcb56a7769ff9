/**
 * BLAKE2b (RFC 7693) with its compression function in generated WebAssembly (./wasm.ts).
 *
 * Why: BLAKE2b is 64-bit arithmetic. Pure JS (@noble/hashes) has to emulate it with 32-bit halves and runs at
 * ~65 MiB/s on this machine, which made hashing (twice per chunk: plain and stored value) the bottleneck of
 * the pipeline. WebAssembly has native i64 add/xor/rotr: >1 GiB/s, fully unrolled 12 rounds. Results are
 * checked against @noble/hashes on many lengths in test/chunks-transform.test.ts.
 *
 * Scope: unkeyed, digest length 1..64, inputs < 2^64 bytes (the high counter word stays 0).
 */

import { ensureMemory, I32, I64, instantiate, op, type WasmFunction, type WasmMemory } from "./wasm.ts";

const IV = [
  0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n,
];

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/**
 * compress(ptr: i32, n: i32, t: i64, inc: i64, last: i32): for each of n consecutive 128-byte blocks at ptr,
 * t += inc, then the BLAKE2b F function on the state h[0..7] kept at memory offset 0 (little-endian u64s),
 * with the final-block flag when `last` is 1.
 */
function build(): WasmFunction {
  const P_PTR = 0, P_N = 1, P_T = 2, P_INC = 3, P_LAST = 4;
  const V = (i: number) => 5 + i; // v0..v15
  const M = (i: number) => 21 + i; // m0..m15
  const code: number[] = [];
  const emit = (...parts: number[][]) => { for (const p of parts) code.push(...p); };

  const G = (a: number, b: number, c: number, d: number, x: number, y: number) => {
    const mix = (mi: number, r1: bigint, r2: bigint) => {
      emit(op.get(V(a)), op.get(V(b)), op.i64add, op.get(M(mi)), op.i64add, op.set(V(a)));
      emit(op.get(V(d)), op.get(V(a)), op.i64xor, op.i64const(r1), op.i64rotr, op.set(V(d)));
      emit(op.get(V(c)), op.get(V(d)), op.i64add, op.set(V(c)));
      emit(op.get(V(b)), op.get(V(c)), op.i64xor, op.i64const(r2), op.i64rotr, op.set(V(b)));
    };
    mix(x, 32n, 24n);
    mix(y, 16n, 63n);
  };

  emit(op.block, op.loop);
  emit(op.get(P_N), op.i32eqz, op.brIf(1));
  emit(op.get(P_T), op.get(P_INC), op.i64add, op.set(P_T));
  for (let j = 0; j < 16; j++) emit(op.get(P_PTR), op.i64load(8 * j), op.set(M(j)));
  for (let i = 0; i < 8; i++) emit(op.i32const(0), op.i64load(8 * i), op.set(V(i)));
  for (let i = 0; i < 8; i++) {
    if (i === 4) emit(op.i64const(IV[4]!), op.get(P_T), op.i64xor, op.set(V(12)));
    else if (i === 6) {
      // v14 = IV6 ^ (last ? ~0 : 0); ~0 is computed as 0 - last (last is 0 or 1).
      emit(op.i64const(IV[6]!), op.i64const(0n), op.get(P_LAST), op.i64extendI32u, op.i64sub, op.i64xor, op.set(V(14)));
    } else emit(op.i64const(IV[i]!), op.set(V(8 + i)));
  }
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10]!;
    G(0, 4, 8, 12, s[0]!, s[1]!);
    G(1, 5, 9, 13, s[2]!, s[3]!);
    G(2, 6, 10, 14, s[4]!, s[5]!);
    G(3, 7, 11, 15, s[6]!, s[7]!);
    G(0, 5, 10, 15, s[8]!, s[9]!);
    G(1, 6, 11, 12, s[10]!, s[11]!);
    G(2, 7, 8, 13, s[12]!, s[13]!);
    G(3, 4, 9, 14, s[14]!, s[15]!);
  }
  for (let i = 0; i < 8; i++) {
    emit(op.i32const(0), op.i32const(0), op.i64load(8 * i), op.get(V(i)), op.i64xor, op.get(V(i + 8)), op.i64xor, op.i64store(8 * i));
  }
  emit(op.get(P_PTR), op.i32const(128), op.i32add, op.set(P_PTR));
  emit(op.get(P_N), op.i32const(1), op.i32sub, op.set(P_N));
  emit(op.br(0), op.end, op.end); // loop, block

  return { params: [I32, I32, I64, I64, I32], locals: [[32, I64]], code };
}

// --- the hash -----------------------------------------------------------------------------------------

type Compress = (ptr: number, n: number, t: bigint, inc: bigint, last: number) => void;

let instance: { run: Compress; memory: WasmMemory } | null = null;
const INPUT = 128; // state at 0..63; input from here (128-aligned for tidiness)

function wasm(): { run: Compress; memory: WasmMemory } {
  return (instance ??= instantiate<Compress>(build(), 2));
}

/** Unkeyed BLAKE2b with an `outLen`-byte digest (the length is part of the parameter block). */
export function blake2b(data: Uint8Array, outLen = 64): Uint8Array {
  if (!(outLen >= 1 && outLen <= 64)) throw new Error(`blake2b: digest length ${outLen} not in 1..64`);
  const w = wasm();
  const padded = Math.max(128, Math.ceil(data.length / 128) * 128);
  const need = INPUT + padded;
  ensureMemory(w.memory, need);
  const mem = new Uint8Array(w.memory.buffer);
  const dv = new DataView(w.memory.buffer);
  for (let i = 0; i < 8; i++) dv.setBigUint64(8 * i, IV[i]!, true);
  dv.setBigUint64(0, IV[0]! ^ 0x01010000n ^ BigInt(outLen), true);
  mem.set(data, INPUT);
  mem.fill(0, INPUT + data.length, INPUT + padded);
  const before = padded / 128 - 1; // every block but the last is compressed with t = bytes so far
  if (before > 0) w.run(INPUT, before, 0n, 128n, 0);
  w.run(INPUT + before * 128, 1, BigInt(data.length), 0n, 1);
  return mem.slice(0, outLen);
}
