/**
 * Large archives: the streamed raw upload (`PUT /api/flist/me/upload/<name>.tar.gz`, body straight to R2) and the
 * resumable protocol on R2 multipart uploads. Both must land in R2 as exactly the bytes sent (compared by
 * SHA-256), become a job's staged input, and refuse what is over their caps.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { MIN_PART_SIZE } from "../src/jobs/config";
import { asUser, fetchHub, migrate } from "./support/hub";
import type { JobRow } from "../src/jobs/store";
import { jobRow, randomBytes, stubConverter } from "./support/jobs";

const stub = stubConverter();
// Not restored: the real Queue may still deliver this file's messages after its last test.

beforeAll(migrate);

async function sha256(data: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function call(user: string, method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetchHub(`/api/flist/me${path}`, { method, headers: await asUser(user, headers), body });
  return { status: res.status, body: (await res.json()) as any, res };
}

async function withEnv(overrides: Partial<Env>, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://hub.test${path}`, init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("streamed raw upload", () => {
  it("lands in R2 as the same bytes and queues a tar job with the query's metadata", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const { status, body } = await call("raw", "PUT", "/upload/big%20one.tar.gz?async=1&metadata-tag=v2&metadata-readme=no", bytes);
    expect(status, JSON.stringify(body)).toBe(202);
    const id = body.payload.job;
    expect(body.payload.name).toBe("big_one.flist");
    const staged = await env.FLISTS.get(`uploads/${id}`);
    expect(staged!.size).toBe(bytes.length);
    expect(await sha256(await staged!.arrayBuffer())).toBe(await sha256(bytes));
    const spec = await stub.waitForDispatch(id);
    expect(spec).toMatchObject({ id, attempt: 1, kind: "tar", name: "big_one.flist", metadata: { tag: "v2" } });
    // Attempt 1 got the archive inline, the same bytes as R2.
    const inline = stub.calls.find((c) => c.inline && c.json?.id === id)!;
    expect(inline.body.length).toBe(bytes.length);
    expect(await sha256(new Uint8Array(inline.body))).toBe(await sha256(bytes));
    expect(await jobRow(id)).toMatchObject({ status: "running", attempts: 1 });
  });

  it("needs a Content-Length, the archive suffix, and stays under its cap", async () => {
    const chunk = randomBytes(1000);
    // A JS-made stream has no known length: the request goes out chunked, without Content-Length.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const chunked = await call("raw", "PUT", "/upload/x.tar.gz?async=1", stream);
    expect(chunked.status).toBe(411);
    expect(chunked.body.message).toBe("Content-Length required");
    const zip = await call("raw", "PUT", "/upload/x.zip?async=1", randomBytes(10));
    expect(zip).toMatchObject({ status: 400, body: { message: 'this file is not allowed: "x.zip" does not end in .tar.gz; accepted: a .tar.gz file (a gzip-compressed tar archive)' } });
    const empty = await call("raw", "PUT", "/upload/x.tar.gz?async=1", new Uint8Array(0));
    expect(empty).toMatchObject({ status: 400, body: { message: "empty archive" } });
    const res = await withEnv({ HUB_UPLOAD_MAX_BYTES: "1000" }, "/api/flist/me/upload/x.tar.gz?async=1", {
      method: "PUT",
      // A Request made in-process carries no Content-Length until it crosses the network: set it as a client would.
      headers: await asUser("raw", { "Content-Length": "2000" }),
      body: randomBytes(2000),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toBe(
      "archive larger than 1000 bytes: use the resumable protocol POST /api/flist/me/uploads",
    );
  });
});

describe("the hub's request limit (HUB_REQUEST_MAX_BYTES)", () => {
  const limited: Partial<Env> = { HUB_REQUEST_MAX_BYTES: String(6 * 1024 * 1024) };

  it("GET /api/limits says what one upload may carry; defaults stay under Cloudflare's 100 MB", async () => {
    const res = await fetchHub("/api/limits");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "success",
      payload: {
        requestMaxBytes: 95 * 1024 * 1024,
        formMaxBytes: 100 * 1024 * 1024,
        streamedMaxBytes: 95 * 1024 * 1024,
        uploadMaxBytes: 10 * 1024 * 1024 * 1024,
        partMinBytes: MIN_PART_SIZE,
        partMaxBytes: 95 * 1024 * 1024,
      },
    });
    const self = await withEnv({ HUB_REQUEST_MAX_BYTES: String(20 * 1024 ** 3) }, "/api/limits", {});
    expect(((await self.json()) as { payload: unknown }).payload).toMatchObject({ streamedMaxBytes: 5 * 1024 ** 3, partMaxBytes: 95 * 1024 * 1024 });
    const small = await withEnv(limited, "/api/limits", {});
    expect(((await small.json()) as { payload: unknown }).payload).toMatchObject({ streamedMaxBytes: 6 * 1024 * 1024, partMaxBytes: 6 * 1024 * 1024 });
  });

  it("caps the streamed PUT and the parts; the default part size shrinks to fit", async () => {
    const put = await withEnv(limited, "/api/flist/me/upload/x.tar.gz?async=1", {
      method: "PUT",
      headers: await asUser("raw", { "Content-Length": String(7 * 1024 * 1024) }),
      body: randomBytes(7 * 1024 * 1024),
    });
    expect(put.status).toBe(413);
    expect(((await put.json()) as { message: string }).message).toBe(
      `archive larger than ${6 * 1024 * 1024} bytes: use the resumable protocol POST /api/flist/me/uploads`,
    );
    const tooBig = await withEnv(limited, "/api/flist/me/uploads", {
      method: "POST",
      headers: await asUser("raw", { "content-type": "application/json" }),
      body: JSON.stringify({ filename: "x.tar.gz", partSize: 8 * 1024 * 1024 }),
    });
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { message: string }).message).toBe(`partSize larger than ${6 * 1024 * 1024} bytes, the largest one request to this hub may carry`);
    const fitted = await withEnv(limited, "/api/flist/me/uploads", {
      method: "POST",
      headers: await asUser("raw", { "content-type": "application/json" }),
      body: JSON.stringify({ filename: "x.tar.gz" }),
    });
    expect(fitted.status).toBe(201);
    expect(((await fitted.json()) as { payload: { partSize: number } }).payload.partSize).toBe(6 * 1024 * 1024);
  });
});

describe("interrupted uploads", () => {
  it("a body that breaks off is a 400, fails its job and leaves no staged object", async () => {
    const broken = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(randomBytes(100));
          controller.error(new Error("client went away"));
        },
      });
    const res = await withEnv({}, "/api/flist/me/upload/cut.tar.gz?async=1", {
      method: "PUT",
      headers: await asUser("cut", { "Content-Length": "1000" }),
      body: broken(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^upload incomplete: /);
    // The job exists from the start (its converter converts while the body arrives): it ends failed, with the
    // reason as its final event, and nothing published.
    const { results } = await env.DB.prepare("SELECT * FROM jobs WHERE repository = 'cut' AND name = 'cut.flist'").all<JobRow>();
    expect(results.map((j) => [j.status, j.message.startsWith("upload incomplete: ")])).toEqual([["failed", true]]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM entries WHERE repository = 'cut'").first("n")).toBe(0);
    expect((await env.FLISTS.list({ prefix: "uploads/" })).objects.map((o) => o.size)).not.toContain(100);

    const session = await call("cut", "POST", "/uploads", JSON.stringify({ filename: "cut.tar.gz" }), {
      "Content-Type": "application/json",
    });
    const part = await withEnv({}, `/api/flist/me/uploads/${session.body.payload.id}/1`, {
      method: "PUT",
      headers: await asUser("cut", { "Content-Length": "1000" }),
      body: broken(),
    });
    expect(part.status).toBe(400);
    expect(((await part.json()) as { message: string }).message).toMatch(/^part 1 not stored: /);
    expect((await call("cut", "GET", `/uploads/${session.body.payload.id}`)).body.payload.parts).toEqual([]);
  });
});

describe("resumable upload", () => {
  const PART = MIN_PART_SIZE;

  async function create(user: string, filename = "huge.tar.gz", extra: Record<string, unknown> = {}) {
    return call(user, "POST", "/uploads", JSON.stringify({ filename, partSize: PART, ...extra }), {
      "Content-Type": "application/json",
    });
  }

  it("parts in any order, resent parts replace, the listing resumes, complete → a job over the same bytes", async () => {
    const created = await create("resume", "huge.tar.gz", { metadata: { tag: "big", entrypoint: "ignored" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.payload.id;
    expect(created.body.payload).toEqual({ id, name: "huge.flist", partSize: PART, url: `/api/flist/me/uploads/${id}` });

    const p1 = randomBytes(PART);
    const p2 = randomBytes(PART);
    const p3first = randomBytes(1234);
    const p3 = randomBytes(777);
    expect((await call("resume", "PUT", `/uploads/${id}/2`, p2)).status).toBe(200);
    expect((await call("resume", "PUT", `/uploads/${id}/3`, p3first)).status).toBe(200);

    // The client lost track: the listing says what arrived.
    const listing = await call("resume", "GET", `/uploads/${id}`);
    expect(listing.body.payload).toMatchObject({ status: "open", partSize: PART, received: PART + 1234 });
    expect(listing.body.payload.parts.map((p: { part: number; size: number }) => [p.part, p.size])).toEqual([
      [2, PART],
      [3, 1234],
    ]);

    const incomplete = await call("resume", "POST", `/uploads/${id}/complete?async=1`);
    expect(incomplete).toMatchObject({ status: 400, body: { message: "part 1 is missing" } });

    const put1 = await call("resume", "PUT", `/uploads/${id}/1`, p1);
    expect(put1.body.payload).toMatchObject({ part: 1, size: PART });
    expect((await call("resume", "PUT", `/uploads/${id}/3`, p3)).status).toBe(200); // replaces part 3

    const done = await call("resume", "POST", `/uploads/${id}/complete?async=1`);
    expect(done.status, JSON.stringify(done.body)).toBe(202);
    expect(done.body.payload.job).toBe(id);
    const staged = await env.FLISTS.get(`uploads/${id}`);
    const whole = new Uint8Array(PART * 2 + p3.length);
    whole.set(p1, 0);
    whole.set(p2, PART);
    whole.set(p3, PART * 2);
    expect(staged!.size).toBe(whole.length);
    expect(await sha256(await staged!.arrayBuffer())).toBe(await sha256(whole));
    expect(await jobRow(id)).toMatchObject({ kind: "tar", name: "huge.flist", input_size: whole.length });
    const spec = await stub.waitForDispatch(id);
    expect(spec.metadata).toEqual({ tag: "big" });

    // A repeated complete (lost answer) answers the same job; parts cannot be added any more.
    const again = await call("resume", "POST", `/uploads/${id}/complete?async=1`);
    expect(again.status).toBe(202);
    expect(again.body.payload.job).toBe(id);
    expect((await call("resume", "PUT", `/uploads/${id}/4`, randomBytes(10))).status).toBe(409);
  });

  it("a repeated complete starts the job if a failure came between the assembly and the job's record", async () => {
    const { body } = await create("recover");
    const id = body.payload.id;
    const bytes = randomBytes(4321);
    await call("recover", "PUT", `/uploads/${id}/1`, bytes);
    expect((await call("recover", "POST", `/uploads/${id}/complete?async=1`)).status).toBe(202);
    await stub.waitForDispatch(id);
    // The job record is lost (as if the Worker died right after assembling the object).
    await env.DB.batch([
      env.DB.prepare("DELETE FROM job_events WHERE job_id = ?1").bind(id),
      env.DB.prepare("DELETE FROM jobs WHERE id = ?1").bind(id),
    ]);
    const again = await call("recover", "POST", `/uploads/${id}/complete?async=1`);
    expect(again.status).toBe(202);
    expect(again.body.payload.job).toBe(id);
    expect(await jobRow(id)).toMatchObject({ name: "huge.flist", input_size: 4321 });
    expect(await stub.waitForDispatch(id, 2)).toMatchObject({ id, attempt: 1 });
  });

  it("refuses short middle parts, oversized parts, bad part numbers, and bad sessions", async () => {
    const { body } = await create("strict");
    const id = body.payload.id;
    expect((await call("strict", "PUT", `/uploads/${id}/1`, randomBytes(100))).status).toBe(200);
    expect((await call("strict", "PUT", `/uploads/${id}/2`, randomBytes(100))).status).toBe(200);
    const short = await call("strict", "POST", `/uploads/${id}/complete?async=1`);
    expect(short.status).toBe(400);
    expect(short.body.message).toBe(`part 1 has 100 bytes; every part but the last must have ${PART}`);
    expect((await call("strict", "PUT", `/uploads/${id}/1`, randomBytes(PART + 1))).status).toBe(413);
    expect((await call("strict", "PUT", `/uploads/${id}/0`, randomBytes(10))).status).toBe(400);
    expect((await call("strict", "PUT", `/uploads/${id}/10001`, randomBytes(10))).status).toBe(400);

    // Another repository cannot see or touch the session.
    expect((await call("intruder", "GET", `/uploads/${id}`)).status).toBe(404);
    expect((await call("intruder", "PUT", `/uploads/${id}/1`, randomBytes(10))).status).toBe(404);
    expect((await call("intruder", "DELETE", `/uploads/${id}`)).status).toBe(404);

    const aborted = await call("strict", "DELETE", `/uploads/${id}`);
    expect(aborted.status).toBe(200);
    expect((await call("strict", "GET", `/uploads/${id}`)).body.payload.status).toBe("aborted");
    expect((await call("strict", "PUT", `/uploads/${id}/1`, randomBytes(10))).status).toBe(409);
    expect((await call("strict", "POST", `/uploads/${id}/complete`)).status).toBe(409);

    const bad = [
      [{ filename: "x.zip" }, 400, "this file is not allowed"],
      [{ filename: "x.tar.gz", partSize: 1024 }, 400, /^invalid body: partSize/],
      [{}, 400, /^invalid body: filename/],
    ] as const;
    for (const [payload, status, message] of bad) {
      const res = await call("strict", "POST", "/uploads", JSON.stringify(payload), { "Content-Type": "application/json" });
      expect(res.status).toBe(status);
      expect(res.body.message).toMatch(message);
    }
  });
});
