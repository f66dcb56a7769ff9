import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import snappy from "snappy";
import { describe, expect, it } from "vitest";
import {
  ChunkIntegrityError, CHUNK_SIZE, MAX_STORED_SIZE, blake2b128, compress, decryptChunk, encryptChunk, fromHex, hex,
} from "../src/chunks/transform.ts";
import { CHUNK_SIZE as PROTOCOL_CHUNK_SIZE, MAX_CHUNK_BYTES } from "../../protocol/chunks.ts";
import { blake2b64 } from "../src/crypto/blake2b.ts";
import { snappyCompress } from "../src/chunks/snappy.ts";
import { xxteaDecrypt, xxteaEncrypt } from "../src/chunks/xxtea.ts";

const FIXTURES = join(import.meta.dirname, "../../../shared/fixtures/flists");
const enc = new TextEncoder();

describe("the chunk size cap of the Worker ⇄ converter contract", () => {
  it("is the engine's largest stored value of one piece", () => {
    expect([PROTOCOL_CHUNK_SIZE, MAX_CHUNK_BYTES]).toEqual([CHUNK_SIZE, MAX_STORED_SIZE]);
    expect(MAX_CHUNK_BYTES).toBe(611_708);
  });
});

describe("transform vectors (docs/flist-format.md §3.7)", () => {
  it("hello.txt", () => {
    const plain = enc.encode("hello world\n");
    expect(hex(snappy.compressSync(plain))).toBe("0c2c68656c6c6f20776f726c640a");
    const c = encryptChunk(plain);
    expect(hex(c.key)).toBe("c0cdb4699cdaa9eea4c563a934f1d52b");
    expect(hex(c.data)).toBe("893f00077aad00982c3024bda3cbe527b9e1ecb0");
    expect(hex(c.hash)).toBe("a5147f6e7cac3a7076f942cb5e00d896");
    expect(decryptChunk(c.data, c.key, c.hash)).toEqual(new Uint8Array(plain));
  });

  it("n.txt", () => {
    const c = encryptChunk(enc.encode("nested\n"));
    expect(hex(c.key)).toBe("da8e603f256fc2e7cd60c22a6cd8b73d");
    expect(hex(c.data)).toBe("714e27452643c3b26116cf8bb33f232b");
    expect(hex(c.hash)).toBe("cd3c4b60f28588a14d3f5cbbe175572f");
  });

  it("big.bin: 3 chunks with zflist's keys, lengths and hashes", () => {
    const big = new Uint8Array(1_200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + Math.floor(i / 251)) & 0xff;
    const expected = [
      ["353ae422fb88adbbe4b348c000c7e6bd", 31848, "7edd3ee7222e37dbf20949614b99ef2b"],
      ["193811de7edbdad5f97c5aa219538fee", 31680, "98d51563405d764e90e14b1d95029b01"],
      ["4adfde6f0784bdc234c50b942f10589c", 9640, "a2316b922a8f4ce5279596d0cf017f11"],
    ] as const;
    expected.forEach(([key, len, hash], i) => {
      const piece = big.subarray(i * CHUNK_SIZE, Math.min(big.length, (i + 1) * CHUNK_SIZE));
      const c = encryptChunk(piece);
      expect([hex(c.key), c.data.length, hex(c.hash)]).toEqual([key, len, hash]);
      expect(Buffer.from(decryptChunk(c.data, c.key, c.hash)).equals(piece)).toBe(true); // (toEqual is slow on 512 KiB)
    });
  });

  it("BLAKE2b-128 is not truncated BLAKE2b-512", () => {
    expect(hex(blake2b128(enc.encode("hello world\n")))).toBe("c0cdb4699cdaa9eea4c563a934f1d52b");
  });
});

describe("BLAKE2b agrees with an independent implementation (Python hashlib)", () => {
  it("on every block-boundary case, for both digest lengths the format uses", () => {
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24);
    const sizes = [0, 1, 2, 63, 64, 127, 128, 129, 255, 256, 257, 383, 384, 385, 1000, 4096, 65_535, 65_536, CHUNK_SIZE, CHUNK_SIZE + 1];
    for (let i = 0; i < 20; i++) sizes.push(rnd() * 37 + rnd());
    const inputs = sizes.map((n) => new Uint8Array(n).map(rnd));
    const python = spawnSync(
      "python3",
      ["-c", "import sys,hashlib\nfor l in sys.stdin:\n d=bytes.fromhex(l.strip())\n print(hashlib.blake2b(d,digest_size=16).hexdigest(),hashlib.blake2b(d,digest_size=8).hexdigest())"],
      { input: inputs.map((d) => hex(d)).join("\n") + "\n", encoding: "utf8", maxBuffer: 1 << 24 },
    );
    expect(python.status).toBe(0);
    const expected = python.stdout.trim().split("\n");
    inputs.forEach((data, i) => {
      expect(`${hex(blake2b128(data))} ${hex(blake2b64(data))}`, `n=${data.length}`).toBe(expected[i]);
    });
  });
});

describe("snappy (libsnappy 1.1.9 port)", () => {
  // Deterministic pseudo-random generator so failures reproduce.
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const sample = (n: number) => {
    const b = new Uint8Array(n), alpha = 1 + Math.floor(rnd() * 60);
    for (let i = 0; i < n; i++) b[i] = rnd() < 0.6 ? (i * 7 + (i >> 9)) % alpha : Math.floor(rnd() * alpha);
    return b;
  };

  it("round-trips through the native decoder at every size class", () => {
    for (const n of [1, 2, 14, 15, 16, 17, 60, 61, 255, 256, 257, 8191, 8192, 8193, 65535, 65536, 65537, 200_000, CHUNK_SIZE]) {
      const b = sample(n);
      const out = Buffer.from(snappy.uncompressSync(snappyCompress(b)) as Buffer);
      expect(out.equals(Buffer.from(b)), `n=${n}`).toBe(true);
    }
  });

  it("equals the native (napi) compressor whenever every fragment uses the full 2^14 table", () => {
    for (let t = 0; t < 40; t++) {
      const n = 8193 + Math.floor(rnd() * (CHUNK_SIZE - 8193));
      if ((n % 65536 || 65536) <= 8192) continue;
      const b = sample(n);
      expect(Buffer.from(snappyCompress(b)).equals(snappy.compressSync(b)), `n=${n}`).toBe(true);
    }
  });

  it("compress() (native fragments + TS port for a short last fragment) equals the TS port at every size class", () => {
    const sizes = [1, 100, 8192, 8193, 65536, 65537, 65536 + 8192, 65536 + 8193, 3 * 65536 + 17, CHUNK_SIZE - 8192, CHUNK_SIZE - 1, CHUNK_SIZE];
    for (let t = 0; t < 20; t++) sizes.push(1 + Math.floor(rnd() * CHUNK_SIZE));
    for (const n of sizes) {
      const b = sample(n);
      expect(Buffer.from(compress(b)).equals(Buffer.from(snappyCompress(b))), `n=${n}`).toBe(true);
    }
  });

  it("differs from napi on small inputs exactly where zflist does (doc/README.md fixture: 115 bytes, not 116)", () => {
    const readme = new TextEncoder().encode(
      "# Fixture image\n\nVisible fixture readme — imported with `metadata readme --import`.\nSecond line with UTF-8: naïve façade.\n");
    expect(readme.length).toBe(126);
    expect(snappyCompress(readme).length).toBe(115);
    expect(snappy.compressSync(readme).length).toBe(116);
  });
});

describe("xxtea", () => {
  it("round-trips every length 1..40 and keys with NUL bytes", () => {
    const key = fromHex("353ae422fb88adbbe4b348c000c7e6bd");
    for (let n = 1; n <= 40; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      const c = xxteaEncrypt(data, key);
      expect(c.length).toBe(4 * (Math.ceil(n / 4) + 1));
      expect(xxteaDecrypt(c, key)).toEqual(data);
    }
  });
  it("rejects bad lengths and empty input", () => {
    const key = new Uint8Array(16);
    expect(() => xxteaEncrypt(new Uint8Array(0), key)).toThrow(/empty/);
    expect(() => xxteaDecrypt(new Uint8Array(7), key)).toThrow(/multiple of 4/);
    expect(() => xxteaEncrypt(new Uint8Array(4), new Uint8Array(15))).toThrow(/16 bytes/);
  });
});

describe("decrypt detects tampering", () => {
  const plain = enc.encode("hello world\n");
  const c = encryptChunk(plain);
  it("wrong hash", () => {
    const bad = c.data.slice(); bad[3]! ^= 1;
    expect(() => decryptChunk(bad, c.key, c.hash)).toThrow(/does not hash to its key/);
  });
  it("flipped byte without hash check", () => {
    for (let i = 0; i < c.data.length; i++) {
      const bad = c.data.slice(); bad[i]! ^= 0x40;
      expect(() => decryptChunk(bad, c.key)).toThrow(ChunkIntegrityError);
    }
  });
  it("wrong decipher key", () => {
    const key = c.key.slice(); key[0]! ^= 1;
    expect(() => decryptChunk(c.data, key, c.hash)).toThrow(ChunkIntegrityError);
  });
  it("truncated", () => {
    expect(() => decryptChunk(c.data.subarray(0, 18), c.key)).toThrow(/a5147f6e|multiple of 4/);
  });
});

describe("every fixture chunk (chunks.tsv, chunks/<key>.bin)", () => {
  const rows = readFileSync(join(FIXTURES, "chunks.tsv"), "utf8").trim().split("\n").slice(1)
    .map((l) => l.split("\t"))
    .map(([key, stored, , , , , plainSize, decipher]) => ({
      key: key!, stored: Number(stored), plainSize: Number(plainSize), decipher: decipher!,
    }));
  const distinct = new Map(rows.map((r) => [`${r.key}/${r.decipher}`, r]));

  it("has the 50 stored keys", () => {
    expect(new Set(rows.map((r) => r.key)).size).toBe(50);
  });

  it("decrypts to plain_size bytes hashing to decipher, and re-encrypts to the same bytes", () => {
    for (const r of distinct.values()) {
      const stored = new Uint8Array(readFileSync(join(FIXTURES, "chunks", `${r.key}.bin`)));
      expect(stored.length, r.key).toBe(r.stored);
      const plain = decryptChunk(stored, fromHex(r.decipher), fromHex(r.key));
      expect(plain.length, r.key).toBe(r.plainSize);
      expect(hex(blake2b128(plain))).toBe(r.decipher);
      const again = encryptChunk(plain);
      expect(hex(again.hash)).toBe(r.key);
      expect(hex(again.key)).toBe(r.decipher);
      expect(Buffer.from(again.data).equals(stored), r.key).toBe(true);
    }
  });
});
