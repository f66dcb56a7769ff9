/**
 * The benchmark tree generator, ported from the reference measurements' gen-tree.py so that the repository's
 * benchmarks do not depend on files outside it. Same seed, same tree, byte for byte: it reproduces CPython's
 * `random.Random` (MT19937 seeded by init_by_array, `random()`, `getrandbits`, `randbelow`, `choice`, `choices`,
 * `shuffle`, `randbytes`) and the script's calls in the same order. The default 512 MiB tree has the tree digest
 * of docs/benchmarks.md ("flist create"), checked by the benchmark after generating it.
 *
 * The tree: ~3,000 files in ~150 nested directories, files of 1–64 KiB then files of 1–20 MiB up to exactly
 * `totalMiB`, even-numbered files random bytes (.bin), odd ones text-like lines (.txt), fixed mtimes.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const KiB = 1024;
const MiB = 1024 * 1024;

/** CPython's Mersenne Twister (Modules/_randommodule.c). */
class PyRandom {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    // random.seed(int): init_by_array with the 32-bit words of abs(seed), least significant first.
    const key: number[] = [];
    for (let s = Math.abs(seed); ; s = Math.floor(s / 2 ** 32)) {
      key.push(s % 2 ** 32);
      if (s < 2 ** 32) break;
    }
    this.initGenrand(19650218);
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(prev, 1812433253) + i) >>> 0;
    }
    this.index = 624;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < 624; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
      mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  genrand(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  random(): number {
    const a = this.genrand() >>> 5;
    const b = this.genrand() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** getrandbits(k) for k ≤ 52 (what randbelow needs here). */
  private bits(k: number): number {
    if (k <= 32) return this.genrand() >>> (32 - k);
    const low = this.genrand();
    const high = this.genrand() >>> (64 - k);
    return high * 2 ** 32 + low;
  }

  randbelow(n: number): number {
    const k = Math.floor(Math.log2(n)) + 1; // n.bit_length()
    let r = this.bits(k);
    while (r >= n) r = this.bits(k);
    return r;
  }

  randint(a: number, b: number): number {
    return a + this.randbelow(b - a + 1);
  }

  choice<T>(seq: readonly T[]): T {
    return seq[this.randbelow(seq.length)]!;
  }

  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      [x[i], x[j]] = [x[j]!, x[i]!];
    }
  }

  /** randbytes(n) = getrandbits(8n).to_bytes(n, "little"): 32-bit words low first, the last one's top bits. */
  randbytes(n: number): Buffer {
    const whole = n >>> 2;
    const words = new Uint32Array(whole + 1); // the platform's order: little-endian on every host Node runs here
    for (let w = 0; w < whole; w++) words[w] = this.genrand();
    const out = Buffer.from(words.buffer, 0, n);
    const rest = n & 3;
    if (rest > 0) {
      let r = this.genrand() >>> (32 - 8 * rest);
      for (let i = 0; i < rest; i++, r >>>= 8) out[4 * whole + i] = r & 0xff;
    }
    return out;
  }
}

function wordPool(rng: PyRandom): string[] {
  const cons = "bcdfghjklmnprstvwz";
  const vow = "aeiou";
  const ends = ["", "s", "n", "r", "ed"];
  const words = new Set<string>();
  while (words.size < 4096) {
    const n = rng.randint(1, 4);
    let w = "";
    for (let i = 0; i < n; i++) w += rng.choice([...cons]) + rng.choice([...vow]);
    words.add(w + rng.choice(ends));
  }
  return [...words].sort(); // ASCII: JavaScript's order is Python's
}

function linePool(rng: PyRandom, words: string[]): Buffer[] {
  const marks = [".", ".", ".", ",", ";", ":", "?"];
  const lines: Buffer[] = [];
  for (let i = 0; i < 65536; i++) {
    const k = rng.randint(4, 14);
    const picked: string[] = [];
    for (let j = 0; j < k; j++) picked.push(rng.choice(words));
    const s = picked.join(" ");
    lines.push(Buffer.from(`${s[0]!.toUpperCase()}${s.slice(1)}${rng.choice(marks)}\n`));
  }
  return lines;
}

function textBytes(rng: PyRandom, lines: Buffer[], n: number): Buffer {
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    // choices(lines, k=2048): floor(random() * len) each
    for (let i = 0; i < 2048; i++) {
      const line = lines[Math.floor(rng.random() * lines.length)]!;
      parts.push(line);
      have += line.length;
    }
  }
  return Buffer.concat(parts, have).subarray(0, n);
}

export interface GenerateOptions {
  seed?: number;
  totalMiB?: number;
  smallFiles?: number;
}

export interface GeneratedTree {
  files: number;
  dirs: number;
  totalBytes: number;
  /** sha256 over "<relpath>\0<size>\0<sha256(content)>\n" of every file, sorted by path (gen-tree.py's). */
  digest: string;
}

/** Writes the tree into `outdir` (which must be absent or empty), as `gen-tree.py OUTDIR` does. */
export function generateTree(outdir: string, options: GenerateOptions = {}): GeneratedTree {
  const seed = options.seed ?? 20240512;
  const total = (options.totalMiB ?? 512) * MiB;
  const smallFiles = options.smallFiles ?? 2960;
  if (fs.existsSync(outdir) && fs.readdirSync(outdir).length > 0) throw new Error(`refusing to write into non-empty ${outdir}`);
  fs.mkdirSync(outdir, { recursive: true });
  const rng = new PyRandom(seed);

  const dirs: string[] = [];
  const two = (n: number) => String(n).padStart(2, "0");
  for (let i = 0; i < 8; i++) {
    const d1 = `d${two(i)}`;
    dirs.push(d1);
    for (let j = 0, nj = rng.randint(2, 5); j < nj; j++) {
      const d2 = `${d1}/e${two(j)}`;
      dirs.push(d2);
      for (let k = 0, nk = rng.randint(0, 4); k < nk; k++) {
        const d3 = `${d2}/f${two(k)}`;
        dirs.push(d3);
        for (let m = 0, nm = rng.randint(0, 2); m < nm; m++) dirs.push(`${d3}/g${two(m)}`);
      }
    }
  }

  const sizes: number[] = [];
  for (let i = 0; i < smallFiles; i++) sizes.push(rng.randint(KiB, 64 * KiB));
  let used = sizes.reduce((a, b) => a + b, 0);
  while (used < total) {
    const s = Math.min(rng.randint(MiB, 20 * MiB), total - used);
    sizes.push(s);
    used += s;
  }
  const order = sizes.map((_, i) => i);
  rng.shuffle(order);

  const words = wordPool(rng);
  const lines = linePool(rng, words);
  for (const d of dirs) fs.mkdirSync(path.join(outdir, d), { recursive: true });

  const records: [string, number, string][] = [];
  for (let idx = 0; idx < order.length; idx++) {
    const n = sizes[order[idx]!]!;
    const kind = idx % 2 === 0 ? "bin" : "txt";
    // The condition is drawn before the directory (Python evaluates `x if cond else y` condition first).
    const d = rng.random() < 0.95 ? dirs[rng.randbelow(dirs.length)]! : "";
    const rel = d === "" ? `file-${String(idx).padStart(5, "0")}.${kind}` : `${d}/file-${String(idx).padStart(5, "0")}.${kind}`;
    const data = kind === "bin" ? rng.randbytes(n) : textBytes(rng, lines, n);
    const p = path.join(outdir, rel);
    fs.writeFileSync(p, data);
    fs.utimesSync(p, 1700000000 + idx, 1700000000 + idx);
    records.push([rel, n, createHash("sha256").update(data).digest("hex")]);
  }
  // Deepest first, as the script (a stable sort by descending depth).
  const byDepth = [...dirs].sort((a, b) => b.split("/").length - a.split("/").length);
  byDepth.forEach((d, i) => fs.utimesSync(path.join(outdir, d), 1699999000 + i, 1699999000 + i));
  fs.utimesSync(outdir, 1699990000, 1699990000);

  const h = createHash("sha256");
  // Python sorts the tuples by path (str order = code point order, ASCII here).
  for (const [rel, n, sh] of [...records].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) h.update(`${rel}\0${n}\0${sh}\n`);
  return { files: records.length, dirs: dirs.length, totalBytes: used, digest: h.digest("hex") };
}
