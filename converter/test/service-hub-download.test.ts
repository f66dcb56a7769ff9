/**
 * The converter's downloads from the hub (job inputs, flists) against a server that behaves like workerd: it closes
 * the connection right after a response, without announcing it (docs/limits.md "Slow readers"). A slow consumer must
 * still get every byte and a clean end; a response that breaks off must fail, never end short; a hub that stalls
 * must fail after the idle timeout, while a consumer slower than that timeout must not.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet } from "../src/service/http-get.ts";
import { HubClient } from "../src/service/hub.ts";

const BODY = randomBytes(2_000_000);
const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

/** How the raw server answers: the whole body then FIN, half of it then FIN, or half of it then silence. */
let mode: "whole" | "cut" | "stall" = "whole";
const sockets = new Set<net.Socket>();
let server: net.Server;
let base: string;

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.once("data", () => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\nContent-Type: application/octet-stream\r\n\r\n`);
      if (mode === "whole") socket.end(BODY);
      else if (mode === "cut") socket.end(BODY.subarray(0, BODY.length / 2));
      else socket.write(BODY.subarray(0, BODY.length / 2));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Reads `body` one piece at a time, waiting `delayMs` after each: the engine converting slower than the hub sends. */
async function readSlowly(body: Readable, delayMs: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) {
    parts.push(chunk);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return Buffer.concat(parts);
}

describe("downloads from a hub that closes connections after each response", () => {
  it("a slow consumer gets every byte and a clean end", async () => {
    mode = "whole";
    const hub = new HubClient(base, "secret-secret-secret");
    for (let i = 0; i < 3; i++) {
      const input = await hub.input("job-1");
      expect(input.size).toBe(BODY.length);
      const got = await readSlowly(input.body, 20);
      expect(got.length).toBe(BODY.length);
      expect(md5(got)).toBe(md5(BODY));
    }
  });

  it("a response that breaks off fails instead of ending short", async () => {
    mode = "cut";
    const hub = new HubClient(base, "secret-secret-secret");
    const input = await hub.input("job-2");
    await expect(readSlowly(input.body, 1)).rejects.toThrow(/aborted/);
  });

  it("a hub that stalls fails after the idle timeout; a consumer slower than the timeout does not", async () => {
    mode = "stall";
    const stalled = await httpGet(`${base}/x`, { idleTimeoutMs: 300 });
    await expect(readSlowly(stalled, 1)).rejects.toThrow(/the hub sent nothing for 0 s/);

    mode = "whole";
    const slow = await httpGet(`${base}/x`, { idleTimeoutMs: 300 });
    const started = Date.now();
    // 64 KiB pieces, 400 ms each, for the first few: the consumer is behind, the hub never idle.
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of slow as AsyncIterable<Buffer>) {
      parts.push(chunk);
      if (n++ < 4) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(md5(Buffer.concat(parts))).toBe(md5(BODY));
  });
});
