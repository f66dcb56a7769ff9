/**
 * Chunk upload for homemade flists: `POST /api/chunks/missing` and `PUT /api/chunks/<hash>` authenticate and
 * bound the request, then forward it to the converter (which checks BLAKE2b-128 and owns the store). The stub
 * stands for the converter only to observe what the Worker forwards and to answer it.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { asUser, fetchHub, migrate } from "./support/hub";
import { randomBytes, stubConverter, type ConverterCall } from "./support/jobs";

const stub = stubConverter();
// Not restored: the real Queue may still deliver this file's messages after its last test.

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

/** The converter's behaviour for these tests: a store holding `A`, refusing bodies that do not hash to the key. */
const held = new Set([A]);
function converter(call: ConverterCall): Response {
  if (call.path === "/chunks/missing") {
    return Response.json({ missing: (call.json.hashes as string[]).filter((h) => !held.has(h)) });
  }
  if (call.method === "PUT" && call.path.startsWith("/chunks/")) {
    if (new TextDecoder().decode(call.body) === "wrong") {
      return Response.json({ status: "error", message: "hash mismatch: body hashes to something else" }, { status: 400 });
    }
    return Response.json({ status: "success" });
  }
  return new Response("not found", { status: 404 });
}

beforeAll(migrate);
beforeEach(() => {
  stub.answer(converter);
  stub.calls.length = 0;
});

async function missing(body: unknown, user = "chunker") {
  const res = await fetchHub("/api/chunks/missing", {
    method: "POST",
    headers: await asUser(user, { "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function put(hash: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetchHub(`/api/chunks/${hash}`, { method: "PUT", headers: await asUser("chunker", headers), body });
  return { status: res.status, body: (await res.json()) as any };
}

describe("POST /api/chunks/missing", () => {
  it("answers the hashes the store lacks (list or {hashes}), lower-cased and de-duplicated", async () => {
    expect(await missing([A, B.toUpperCase(), B])).toEqual({ status: 200, body: { status: "success", payload: { missing: [B] } } });
    expect(await missing({ hashes: [A] })).toEqual({ status: 200, body: { status: "success", payload: { missing: [] } } });
    expect(stub.calls.map((c) => c.json)).toEqual([{ hashes: [A, B] }, { hashes: [A] }]);
    expect(stub.calls[0]!.authorization).toBe(`Bearer ${env.INTERNAL_SECRET}`);
  });

  it("refuses bad input before calling the converter", async () => {
    expect((await missing(["xyz"])).status).toBe(400);
    expect((await missing({ nope: [] })).status).toBe(400);
    expect((await missing(Array.from({ length: 10_001 }, () => A))).body.message).toMatch(/at most 10000/);
    expect((await missing([])).body).toEqual({ status: "success", payload: { missing: [] } });
    const noToken = await fetchHub("/api/chunks/missing", { method: "POST", body: JSON.stringify([A]) });
    expect(noToken.status).toBe(401);
    expect(stub.calls).toEqual([]);
  });

  it("answers 502 when the converter is unreachable or failing", async () => {
    stub.answer(() => {
      throw new TypeError("connection refused");
    });
    const down = await missing([A]);
    expect(down.status).toBe(502);
    expect(down.body.message).toMatch(/^chunk store unavailable/);
    stub.answer(() => new Response("redis down", { status: 500 }));
    expect((await missing([A])).status).toBe(502);
  });
});

describe("PUT /api/chunks/<hash>", () => {
  it("forwards the body as is, with its length, and relays the converter's verdict", async () => {
    const bytes = randomBytes(70_000);
    expect(await put(B.toUpperCase(), bytes)).toEqual({ status: 200, body: { status: "success", payload: { hash: B, size: 70_000 } } });
    const call = stub.calls[0]!;
    expect(call.path).toBe(`/chunks/${B}`);
    expect(call.contentLength).toBe("70000");
    expect(call.body).toEqual(bytes);

    const wrong = await put(A, "wrong");
    expect(wrong).toEqual({ status: 400, body: { status: "error", message: "hash mismatch: body hashes to something else" } });
  });

  it("refuses bad hashes, empty or unbounded bodies, oversized chunks and anonymous callers without forwarding", async () => {
    expect((await put("abc", "x")).status).toBe(400);
    expect((await put(A, new Uint8Array(0))).body.message).toBe("empty chunk");
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        c.close();
      },
    });
    expect((await put(A, chunked)).status).toBe(411);
    const ctx = createExecutionContext();
    const big = await app.fetch(
      new Request(`http://hub.test/api/chunks/${A}`, {
        method: "PUT",
        headers: await asUser("chunker", { "Content-Length": "100" }),
        body: randomBytes(100),
      }),
      { ...env, HUB_CHUNK_MAX_BYTES: "64" } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { message: string }).message).toBe("chunk larger than 64 bytes");
    expect((await fetchHub(`/api/chunks/${A}`, { method: "PUT", body: "x" })).status).toBe(401);
    expect(stub.calls).toEqual([]);
  });
});

describe("the CONVERTER binding (production)", () => {
  it("replaces HUB_CONVERTER_URL when present: a service binding gets the request, with the internal secret", async () => {
    const seen: Request[] = [];
    const binding = {
      fetch: async (request: Request) => {
        seen.push(request);
        return Response.json({ missing: [B] });
      },
    };
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request("http://hub.test/api/chunks/missing", {
        method: "POST",
        headers: await asUser("chunker", { "Content-Type": "application/json" }),
        body: JSON.stringify([A, B]),
      }),
      { ...env, CONVERTER: binding as unknown as Fetcher } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await res.json()).toEqual({ status: "success", payload: { missing: [B] } });
    expect(seen).toHaveLength(1);
    expect(new URL(seen[0]!.url).pathname).toBe("/chunks/missing");
    expect(seen[0]!.headers.get("Authorization")).toBe(`Bearer ${env.INTERNAL_SECRET}`);
    expect(stub.calls).toEqual([]);
  });

  it("a container namespace: each key always reaches the same one of a few named instances", async () => {
    const { converterFetch } = await import("../src/jobs/converter");
    const reached: string[] = [];
    const namespace = {
      idFromName: (name: string) => name,
      get: (id: string) => ({
        fetch: async () => {
          reached.push(id);
          return new Response(null, { status: 202 });
        },
      }),
    };
    const withNamespace = { ...env, CONVERTER: namespace as unknown as DurableObjectNamespace } as Env;
    for (const key of ["job-a", "job-b", "job-a", "job-c", "job-a"]) {
      expect((await converterFetch(withNamespace, "/jobs", { method: "POST", body: "{}" }, key)).status).toBe(202);
    }
    expect(reached.every((name) => /^converter-[0-3]$/.test(name))).toBe(true);
    expect(new Set([reached[0], reached[2], reached[4]]).size).toBe(1);
    expect(stub.calls).toEqual([]);
  });
});
