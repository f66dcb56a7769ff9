/** The converter's chunk endpoints (`POST /chunks/missing`, `PUT /chunks/<hex>`) over real HTTP, real stores. */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CHUNK_BYTES } from "../src/service/chunks.ts";
import { FIXTURES, type Rig, SECRET, startRig } from "./service-support.ts";
import { type RunningRedis, startRedis } from "./support/redis.ts";

const chunkKeys = fs
  .readdirSync(path.join(FIXTURES, "chunks"))
  .filter((f) => f.endsWith(".bin"))
  .map((f) => f.slice(0, -4))
  .sort();
const chunk = (key: string) => fs.readFileSync(path.join(FIXTURES, "chunks", `${key}.bin`));

let rig: Rig;
let redis: RunningRedis;

beforeAll(async () => {
  redis = await startRedis();
  rig = await startRig({ HUB_CHUNK_STORE: redis.url });
});

afterAll(async () => {
  await rig?.stop();
  await redis?.stop();
});

const auth = { authorization: `Bearer ${SECRET}` };

async function missing(hashes: unknown, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(`${rig.converter.url}/chunks/missing`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ hashes }),
  });
}

function put(key: string, body: Uint8Array, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(`${rig.converter.url}/chunks/${key}`, { method: "PUT", headers, body });
}

describe("chunk endpoints", () => {
  it("tells which chunks the store lacks, and stores chunks under their own hash", async () => {
    const [a, b, c] = chunkKeys as [string, string, string];
    let res = await missing([a, b, c, a]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ missing: [a, b, c] });

    res = await put(a, chunk(a));
    expect([res.status, await res.json()]).toEqual([200, { status: "success" }]);
    res = await put(c.toUpperCase(), chunk(c));
    expect(res.status).toBe(200);
    // Storing again is harmless (content-addressed).
    expect((await put(a, chunk(a))).status).toBe(200);

    res = await missing([a, b, c]);
    expect(await res.json()).toEqual({ missing: [b] });
  });

  it("refuses a chunk whose key is not the BLAKE2b-128 of its body", async () => {
    const [a, b] = chunkKeys.slice(-2) as [string, string];
    const res = await put(a, chunk(b));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ status: "error", message: "chunk key is not the BLAKE2b-128 of the body" });
    expect(await (await missing([a])).json()).toEqual({ missing: [a] });
  });

  it("refuses oversized chunks, bad keys and bad lists", async () => {
    const res = await put("00".repeat(16), new Uint8Array(MAX_CHUNK_BYTES + 1));
    expect(res.status).toBe(413);
    expect((await put("xyz", new Uint8Array(1))).status).toBe(400);
    expect((await put("00".repeat(16), new Uint8Array(0))).status).toBe(400);
    expect((await missing(["not-hex"])).status).toBe(400);
    expect((await missing("nope")).status).toBe(400);
    const notJson = await fetch(`${rig.converter.url}/chunks/missing`, { method: "POST", headers: auth, body: "{" });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${rig.converter.url}/chunks/missing`, { headers: auth })).status).toBe(405);
    expect((await fetch(`${rig.converter.url}/nothing`, { headers: auth })).status).toBe(404);
  });

  it("requires the internal secret", async () => {
    const key = chunkKeys[5] as string;
    expect((await put(key, chunk(key), {})).status).toBe(401);
    expect((await put(key, chunk(key), { authorization: `Bearer ${SECRET}x` })).status).toBe(401);
    expect((await put(key, chunk(key), { authorization: `Basic ${SECRET}` })).status).toBe(401);
    expect((await missing([key], {})).status).toBe(401);
    expect(await (await missing([key])).json()).toEqual({ missing: [key] });
  });

  it("answers 503 with the redacted store address when the store is down", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const down = await startRig({ HUB_CHUNK_STORE: `zdb://:s3cret-zdb-pw@127.0.0.1:${port}/ns` });
    try {
      const res = await fetch(`${down.converter.url}/chunks/missing`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ hashes: [chunkKeys[0]] }),
      });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { message: string };
      expect(body.message).toContain(`zdb://:***@127.0.0.1:${port}/ns`);
      expect(body.message).not.toContain("s3cret");
    } finally {
      await down.stop();
    }
  });
});
