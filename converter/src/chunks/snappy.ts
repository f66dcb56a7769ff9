/**
 * Raw-block Snappy compressor that reproduces libsnappy 1.1.9 byte for byte (the library zflist links).
 *
 * Why not npm `snappy` (napi-rs, Rust `snap`) alone: its hash-table index is `(x*K) >> (32 - log2(tableSize))`,
 * while libsnappy ≥ 1.1.9 uses the top 14 bits masked to the table, `((x*K) >> 18) & (tableSize-1)`. Both
 * agree when the table has 2^14 entries (fragments > 8 KiB) and diverge on smaller fragments: the fixture chunk
 * of the 126-byte `doc/README.md` compresses to 116 bytes with napi snappy, 115 with zflist. A different
 * compression is still valid snappy, but gives a different stored value and chunk hash, so no dedup with data
 * zflist already put on the hub; test/chunks-transform.test.ts pins every fixture chunk.
 *
 * Algorithm (snappy.cc `Compress` / `CompressFragment`, format_description.txt): the input is cut into 64 KiB
 * fragments compressed independently, each with a zeroed table of 256..16384 uint16 positions (the smallest
 * power of two ≥ the fragment), greedy 4-byte match search with "heuristic match skipping", copies split as
 * 64…(60)…remainder, literals with 1..4 extra length bytes. Decompression is left to npm `snappy` (any
 * conforming decoder gives the same bytes).
 */

const BLOCK_SIZE = 1 << 16;
const MAX_TABLE_BITS = 14;
const INPUT_MARGIN = 15;
const K_MUL = 0x1e35a7bd;

/** Upper bound of the compressed size (snappy `MaxCompressedLength`). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function tableSize(fragment: number): number {
  let size = 256;
  while (size < 1 << MAX_TABLE_BITS && size < fragment) size <<= 1;
  return size;
}

const load32 = (a: Uint8Array, i: number): number =>
  a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24);

const hash = (x: number, mask: number): number => (Math.imul(x, K_MUL) >>> (32 - MAX_TABLE_BITS)) & mask;

class Writer {
  pos = 0;
  constructor(readonly out: Uint8Array) {}

  varint(v: number): void {
    while (v >= 0x80) {
      this.out[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.out[this.pos++] = v;
  }

  literal(src: Uint8Array, from: number, to: number): void {
    const n = to - from - 1;
    if (n < 60) {
      this.out[this.pos++] = n << 2;
    } else {
      const count = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
      this.out[this.pos++] = (59 + count) << 2;
      for (let i = 0, v = n; i < count; i++, v >>>= 8) this.out[this.pos++] = v & 0xff;
    }
    this.out.set(src.subarray(from, to), this.pos);
    this.pos += to - from;
  }

  private copyAtMost64(offset: number, len: number): void {
    if (len < 12 && offset < 2048) {
      this.out[this.pos++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
      this.out[this.pos++] = offset & 0xff;
    } else {
      this.out[this.pos++] = 2 | ((len - 1) << 2);
      this.out[this.pos++] = offset & 0xff;
      this.out[this.pos++] = offset >>> 8;
    }
  }

  copy(offset: number, len: number): void {
    while (len >= 68) {
      this.copyAtMost64(offset, 64);
      len -= 64;
    }
    if (len > 64) {
      this.copyAtMost64(offset, 60);
      len -= 60;
    }
    this.copyAtMost64(offset, len);
  }
}

function compressFragment(src: Uint8Array, start: number, end: number, table: Uint16Array, w: Writer): void {
  const size = tableSize(end - start);
  const mask = size - 1;
  table.fill(0, 0, size);
  let nextEmit = start;
  if (end - start >= INPUT_MARGIN) {
    const ipLimit = end - INPUT_MARGIN;
    let ip = start + 1;
    let nextHash = hash(load32(src, ip), mask);
    outer: for (;;) {
      // Step 1: find a 4-byte match, looking at every byte first, then skipping further apart
      // (every 32 misses add one to the stride) so incompressible data is passed over quickly.
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const h = nextHash;
        const step = skip >>> 5;
        skip += step;
        nextIp = ip + step;
        if (nextIp > ipLimit) break outer;
        nextHash = hash(load32(src, nextIp), mask);
        candidate = start + table[h]!;
        table[h] = ip - start;
      } while (load32(src, ip) !== load32(src, candidate));

      // Step 2: the bytes before the match are a literal.
      w.literal(src, nextEmit, ip);

      // Step 3: emit copies as long as the position right after a copy matches again.
      for (;;) {
        const base = ip;
        let matched = 4;
        while (ip + matched < end && src[candidate + matched] === src[ip + matched]) matched++;
        ip += matched;
        w.copy(base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        table[hash(load32(src, ip - 1), mask)] = ip - 1 - start;
        const cur = load32(src, ip);
        const h = hash(cur, mask);
        candidate = start + table[h]!;
        table[h] = ip - start;
        if (cur !== load32(src, candidate)) {
          nextHash = hash(load32(src, ip + 1), mask);
          ip++;
          break;
        }
      }
    }
  }
  if (nextEmit < end) w.literal(src, nextEmit, end);
}

/** Raw Snappy block (varint length + elements), identical to libsnappy 1.1.9 `snappy::Compress`. */
export function snappyCompress(src: Uint8Array): Uint8Array {
  const w = new Writer(new Uint8Array(maxCompressedLength(src.length)));
  w.varint(src.length);
  const table = new Uint16Array(1 << MAX_TABLE_BITS);
  for (let start = 0; start < src.length; start += BLOCK_SIZE) {
    compressFragment(src, start, Math.min(src.length, start + BLOCK_SIZE), table, w);
  }
  return w.out.subarray(0, w.pos);
}
