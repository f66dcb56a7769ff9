/** The converter's routes through `app.request()` (no socket): routing, authentication and body validation. */
import { describe, expect, it } from "vitest";
import { MAX_CHUNK_BYTES } from "../../protocol/chunks.ts";
import type { JobSpec } from "../../protocol/job-spec.ts";
import { converterApp } from "../src/service/app.ts";
import type { JobRunner } from "../src/service/jobs.ts";
import { createLogger } from "../src/service/log.ts";
import { StoreError, type ChunkStore } from "../src/store/index.ts";

const SECRET = "app-test-secret";
const auth = { authorization: `Bearer ${SECRET}` };

function app(busy = false) {
  const submitted: JobSpec[] = [];
  const runner = { submit: (spec: JobSpec) => (submitted.push(spec), busy ? "busy" : "accepted") } as unknown as JobRunner;
  const store = async (): Promise<ChunkStore> => {
    throw new Error("no store in this test");
  };
  const logs: string[] = [];
  return { app: converterApp({ runner, store, internalSecret: SECRET, secrets: [SECRET], log: createLogger({ sink: (l) => logs.push(l), secrets: [SECRET] }) }), submitted, logs };
}

const spec = { id: "job-1", attempt: 1, kind: "tar", repository: "alice", name: "x.flist" };

describe("converter app", () => {
  it("answers /health without the secret, and only to GET and HEAD", async () => {
    const { app: a } = app();
    const res = await a.request("/health");
    expect([res.status, res.headers.get("content-type"), await res.json()]).toEqual([200, "application/json", { status: "ok" }]);
    expect((await a.request("/health", { method: "HEAD" })).status).toBe(200);
    expect(await (await a.request("/health", { method: "POST" })).json()).toEqual({ status: "error", message: "method not allowed" });
  });

  it("checks the chunk store on /health?deep=1, with a short timeout, and answers 503 naming it", async () => {
    const runner = {} as unknown as JobRunner;
    const make = (store: () => Promise<ChunkStore>) =>
      converterApp({ runner, store, internalSecret: SECRET, secrets: [SECRET, "store-pw"], log: createLogger({ sink: () => {} }), healthTimeoutMs: 200 });
    const up = { exists: async (keys: Uint8Array[]) => keys.map(() => false) } as unknown as ChunkStore;
    let res = await make(async () => up).request("/health?deep=1");
    expect([res.status, await res.json()]).toEqual([200, { status: "ok", checks: { chunkStore: { ok: true, ms: expect.any(Number) } } }]);
    // Without ?deep the store is not touched.
    res = await make(() => new Promise(() => {})).request("/health");
    expect([res.status, await res.json()]).toEqual([200, { status: "ok" }]);

    res = await make(() => new Promise(() => {})).request("/health?deep=1");
    expect([res.status, await res.json()]).toEqual([
      503,
      {
        status: "error",
        message: "chunkStore: the chunk store did not answer within 200 ms",
        checks: { chunkStore: { ok: false, ms: expect.any(Number), error: "the chunk store did not answer within 200 ms" } },
      },
    ]);
    res = await make(async () => {
      throw new StoreError("zdb://:***@db:9900/ns", "refused authentication (store-pw is wrong)");
    }).request("/health?deep=1");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toBe("chunkStore: chunk store zdb://:***@db:9900/ns: refused authentication (*** is wrong)");
  });

  it("requires the secret everywhere else, then routes", async () => {
    const { app: a } = app();
    expect((await a.request("/nothing")).status).toBe(401);
    expect(await (await a.request("/jobs", { method: "POST", body: "{}" })).json()).toEqual({ status: "error", message: "unauthorized" });
    expect((await a.request("/nothing", { headers: auth })).status).toBe(404);
    expect((await a.request("/jobs", { headers: auth })).status).toBe(405);
    expect((await a.request("/chunks/missing", { method: "PUT", headers: auth })).status).toBe(405);
    expect((await a.request(`/chunks/${"0".repeat(32)}`, { headers: auth })).status).toBe(405);
  });

  it("validates the job spec with the contract's schema, whatever the Content-Type", async () => {
    const { app: a, submitted } = app();
    let res = await a.request("/jobs", { method: "POST", headers: auth, body: JSON.stringify(spec) });
    expect([res.status, await res.json()]).toEqual([202, { status: "accepted" }]);
    // The schema's defaults apply: a tar job's metadata is {} when absent.
    expect(submitted).toEqual([{ ...spec, metadata: {} }]);

    res = await a.request("/jobs", { method: "POST", headers: auth, body: "{" });
    expect([res.status, await res.json()]).toEqual([400, { status: "error", message: "body is not valid JSON" }]);
    res = await a.request("/jobs", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ ...spec, name: "a/b" }) });
    expect(await res.json()).toEqual({ status: "error", message: 'invalid job: name: name "a/b" is not allowed: it contains a slash' });
    res = await a.request("/jobs", { method: "POST", headers: { ...auth, "content-length": String(2 * 1024 * 1024) }, body: "{}" });
    expect([res.status, await res.json()]).toEqual([413, { status: "error", message: `request body over ${1024 * 1024} bytes` }]);
  });

  it("answers 503 when the runner is busy", async () => {
    const res = await app(true).app.request("/jobs", { method: "POST", headers: auth, body: JSON.stringify(spec) });
    expect([res.status, await res.json()]).toEqual([503, { status: "error", message: "converter busy, retry later" }]);
  });

  it("bounds chunk bodies and lists of hashes before touching the store", async () => {
    const { app: a } = app();
    let res = await a.request(`/chunks/${"0".repeat(32)}`, { method: "PUT", headers: auth, body: new Uint8Array(MAX_CHUNK_BYTES + 1) });
    expect([res.status, await res.json()]).toEqual([413, { status: "error", message: `request body over ${MAX_CHUNK_BYTES} bytes` }]);
    res = await a.request("/chunks/xyz", { method: "PUT", headers: auth, body: "x" });
    expect(await res.json()).toEqual({ status: "error", message: "chunk key must be 32 hex characters" });
    res = await a.request("/chunks/missing", { method: "POST", headers: auth, body: JSON.stringify({ hashes: ["nope"] }) });
    expect(await res.json()).toEqual({ status: "error", message: "every hash must be 32 hex characters" });
  });

  it("answers 500 without details for a bug, and logs it with secrets scrubbed", async () => {
    const { app: a, logs } = app();
    const res = await a.request("/chunks/missing", { method: "POST", headers: auth, body: JSON.stringify({ hashes: [] }) });
    expect([res.status, await res.json()]).toEqual([500, { status: "error", message: "internal error" }]);
    const line = JSON.parse(logs.find((l) => l.includes('"internal error"')) ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ level: "error", service: "converter", msg: "internal error", method: "POST", path: "/chunks/missing" });
    expect(line.error).toMatch(/^Error: no store in this test/);
  });
});
