/** http/big-reads.ts inside workerd: request bodies gathered in large pieces, every byte once, in order. */
import { describe, expect, it } from "vitest";
import { bigReads } from "../src/http/big-reads";

const PIECE = 64 * 1024;

function patterned(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;
  return bytes;
}

async function pieces(body: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const reader = bigReads(body, PIECE);
  const out: Uint8Array[] = [];
  for (let p = await reader.read(); p !== undefined; p = await reader.read()) out.push(p);
  return out;
}

function joined(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return all;
}

describe("bigReads", () => {
  it("gathers a request body (a byte stream) into full pieces, the last one shorter", async () => {
    const data = patterned(3 * PIECE + 5);
    const body = new Request("http://hub.test/", { method: "PUT", body: data }).body!;
    const got = await pieces(body);
    expect(got.map((p) => p.byteLength)).toEqual([PIECE, PIECE, PIECE, 5]);
    expect(joined(got)).toEqual(data);
  });

  it("reads a stream made in JS (no BYOB) as it comes, every byte in order", async () => {
    const data = patterned(PIECE + 100);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(data.subarray(0, 100));
        controller.enqueue(data.subarray(100));
        controller.close();
      },
    });
    const got = await pieces(body);
    expect(joined(got)).toEqual(data);
  });

  it("ends at once on an empty body, and drain() reads what is left", async () => {
    expect(await pieces(new Request("http://hub.test/", { method: "PUT", body: new Uint8Array(0) }).body ?? new ReadableStream())).toEqual([]);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 4) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    const reader = bigReads(body, PIECE);
    await reader.read();
    await reader.drain(1 << 20);
    expect(pulled).toBe(4);
    expect(await reader.read()).toBeUndefined();
  });
});
