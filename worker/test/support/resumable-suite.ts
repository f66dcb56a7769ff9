/**
 * The resumable-upload protocol's own test suite (worker/src/resumable/), run against every mount by
 * resumable.test.ts: create, parts in and out of order, a part lost and sent again from where the hub says,
 * complete, abort, the limits (refused with nothing created), sessions private to their repository, abandoned
 * sessions. Where the mounts differ on purpose (their options in uploads/resumable.ts and images/resumable.ts),
 * the mount description says what to expect; what each mount does on completion is checked by `verify`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import type { Env } from "../../src/env";
import { MIN_PART_SIZE } from "../../src/jobs/config";
import { sweepUploads } from "../../src/uploads/resumable";
import { asUser } from "./hub";
import { randomBytes } from "./jobs";

export const PART = MIN_PART_SIZE;

export interface ResumableSuiteMount {
  name: string;
  /** The collection: `POST base`, `PUT base/<id>/<n>`, … */
  base: string;
  /** The D1 table of the mount's sessions. */
  table: "upload_sessions" | "image_uploads";
  /** Users of this mount's tests (distinct per mount: sessions and images stay apart). */
  owner: string;
  intruder: string;
  /** A create body for an upload of `size` bytes in parts of `partSize`. */
  createBody(size: number, partSize?: number): Record<string, unknown>;
  /** `any`: parts in any order, re-sendable; `sequential`: strictly in order. */
  order: "any" | "sequential";
  notFound: string;
  /** What the 413 of an upload over `HUB_UPLOAD_MAX_BYTES` calls it. */
  what: string;
  /** The status of a part larger than the session's part size (413 when parts may be short, 400 when exact). */
  oversizedPart: number;
  /** The status of the routes on an aborted session (409: the session stays, aborted; 404: it is gone). */
  afterAbort: number;
  /** DELETE's payload. */
  abortAnswer(id: string): unknown;
  /** Whether the scheduled sweep aborts sessions untouched for a day. */
  swept: boolean;
  /** The complete request's path suffix (`?async=1`) and success status. */
  completeQuery: string;
  completeStatus: number;
  /** The first part the hub still needs, as a client learns it after losing track (knowing `lost` was lost). */
  resumeFrom(id: string, lost: number, count: number): Promise<number>;
  /** After a successful complete: the mount's outcome holds exactly `bytes`. */
  verify(id: string, answer: any, bytes: Uint8Array<ArrayBuffer>): Promise<void>;
}

/** The whole app with settings overridden (wrangler.toml's otherwise). */
export async function hubCall(path: string, init: RequestInit, overrides: Partial<Env> = {}): Promise<{ status: number; body: any }> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://hub.test${path}`, init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function runResumableSuite(m: ResumableSuiteMount): void {
  const as = (user: string, extra: Record<string, string> = {}) => asUser(user, extra);
  const rows = async () => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${m.table}`).first<{ n: number }>())!.n;

  /** `partSize` null: the hub's default. */
  async function create(size: number, partSize: number | null = PART, overrides: Partial<Env> = {}, user = m.owner) {
    const body = m.createBody(size, partSize ?? undefined);
    return hubCall(
      m.base,
      { method: "POST", headers: await as(user, { "Content-Type": "application/json" }), body: JSON.stringify(body) },
      overrides,
    );
  }
  async function put(id: string, part: number, body: BodyInit, user = m.owner, length?: number) {
    const size = length ?? (body instanceof Uint8Array ? body.length : 0);
    return hubCall(`${m.base}/${id}/${part}`, { method: "PUT", headers: await as(user, { "Content-Length": String(size) }), body });
  }
  const complete = async (id: string, user = m.owner) =>
    hubCall(`${m.base}/${id}/complete${m.completeQuery}`, { method: "POST", headers: await as(user) });
  const abort = async (id: string, user = m.owner) => hubCall(`${m.base}/${id}`, { method: "DELETE", headers: await as(user) });

  /** Three parts: two full ones and a short last one. */
  function threeParts() {
    const parts = [randomBytes(PART), randomBytes(PART), randomBytes(4321)];
    return { parts, whole: concat(...parts), size: 2 * PART + 4321 };
  }

  async function opened(size: number): Promise<string> {
    const created = await create(size);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.payload.id as string;
  }

  describe(`resumable protocol: ${m.name}`, () => {
    it("creates a session: 201 with its id and part size", async () => {
      const before = await rows();
      const created = await create(3 * PART);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.status).toBe("success");
      expect(created.body.payload).toMatchObject({ id: expect.any(String), partSize: PART });
      expect(await rows()).toBe(before + 1);
    });

    it("takes the parts in order and completes over exactly the bytes sent", async () => {
      const { parts, whole, size } = threeParts();
      const id = await opened(size);
      for (const [i, bytes] of parts.entries()) {
        const res = await put(id, i + 1, bytes);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.payload).toMatchObject({ part: i + 1 });
      }
      const done = await complete(id);
      expect(done.status, JSON.stringify(done.body)).toBe(m.completeStatus);
      await m.verify(id, done.body, whole);
    });

    it(m.order === "any" ? "takes parts out of order" : "refuses parts out of order (409), then takes them in order", async () => {
      const { parts, whole, size } = threeParts();
      const id = await opened(size);
      const third = await put(id, 3, parts[2]!);
      if (m.order === "any") {
        expect(third.status).toBe(200);
        expect((await put(id, 2, parts[1]!)).status).toBe(200);
        expect((await put(id, 1, parts[0]!)).status).toBe(200);
      } else {
        expect(third).toMatchObject({ status: 409, body: { status: "error", message: "parts are uploaded in order: the next one is 1" } });
        for (const [i, bytes] of parts.entries()) expect((await put(id, i + 1, bytes)).status).toBe(200);
      }
      const done = await complete(id);
      expect(done.status, JSON.stringify(done.body)).toBe(m.completeStatus);
      await m.verify(id, done.body, whole);
    });

    it("a part that breaks off is not kept; the client resumes where the hub says and completes", async () => {
      const { parts, whole, size } = threeParts();
      const id = await opened(size);
      expect((await put(id, 1, parts[0]!)).status).toBe(200);
      const broken = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(parts[1]!.subarray(0, 1000));
          controller.error(new Error("client went away"));
        },
      });
      const lost = await put(id, 2, broken, m.owner, PART);
      expect(lost.status).toBeGreaterThanOrEqual(400);
      expect(await m.resumeFrom(id, 2, 3)).toBe(2);
      expect((await put(id, 2, parts[1]!)).status).toBe(200);
      expect((await put(id, 3, parts[2]!)).status).toBe(200);
      const done = await complete(id);
      expect(done.status, JSON.stringify(done.body)).toBe(m.completeStatus);
      await m.verify(id, done.body, whole);
    });

    it("aborts a session: its parts are dropped and it takes none any more", async () => {
      const id = await opened(2 * PART);
      expect((await put(id, 1, randomBytes(PART))).status).toBe(200);
      const aborted = await abort(id);
      expect(aborted.status).toBe(200);
      expect(aborted.body).toEqual(m.abortAnswer(id) === undefined ? { status: "success" } : { status: "success", payload: m.abortAnswer(id) });
      expect((await put(id, 2, randomBytes(PART))).status).toBe(m.afterAbort);
      expect((await complete(id)).status).toBe(m.afterAbort);
      expect((await abort(id)).status).toBe(m.afterAbort);
    });

    it("refuses what is over the limits with a clear error, and creates nothing", async () => {
      const before = await rows();
      const tooLarge = await create(5000, null, { HUB_UPLOAD_MAX_BYTES: "4096" });
      expect(tooLarge).toMatchObject({ status: 413, body: { status: "error", message: `${m.what} larger than 4096 bytes` } });
      const partTooLarge = await create(20 * PART, 8 * 1024 * 1024, { HUB_REQUEST_MAX_BYTES: String(6 * 1024 * 1024) });
      expect(partTooLarge).toMatchObject({
        status: 400,
        body: { status: "error", message: `partSize larger than ${6 * 1024 * 1024} bytes, the largest one request to this hub may carry` },
      });
      const belowMinimum = await create(20 * PART, 1024);
      expect(belowMinimum.status).toBe(400);
      expect(belowMinimum.body.message).toMatch(/partSize|5242880/);
      expect(await rows()).toBe(before);

      // The default part size shrinks to fit one request.
      const fitted = await create(20 * PART, null, { HUB_REQUEST_MAX_BYTES: String(6 * 1024 * 1024) });
      expect(fitted.status).toBe(201);
      expect(fitted.body.payload.partSize).toBe(6 * 1024 * 1024);

      // A part over the session's part size is refused and not kept.
      const id = await opened(2 * PART);
      expect((await put(id, 1, randomBytes(PART + 1))).status).toBe(m.oversizedPart);
      expect(await m.resumeFrom(id, 1, 2)).toBe(1);
    });

    it("another repository's session is answered like a missing one (404), and stays untouched", async () => {
      const { parts, whole, size } = threeParts();
      const id = await opened(size);
      expect((await put(id, 1, parts[0]!)).status).toBe(200);
      const refused = [
        await put(id, 2, parts[1]!, m.intruder),
        await complete(id, m.intruder),
        await abort(id, m.intruder),
        await hubCall(`${m.base}/${crypto.randomUUID()}/1`, { method: "PUT", headers: await as(m.owner, { "Content-Length": "3" }), body: "abc" }),
      ];
      for (const res of refused) expect(res).toMatchObject({ status: 404, body: { status: "error", message: m.notFound } });
      expect((await put(id, 2, parts[1]!)).status).toBe(200);
      expect((await put(id, 3, parts[2]!)).status).toBe(200);
      const done = await complete(id);
      expect(done.status).toBe(m.completeStatus);
      await m.verify(id, done.body, whole);
    });

    it(m.swept ? "the sweep aborts a session untouched for a day" : "the sweep leaves its sessions alone (R2 expires their parts)", async () => {
      const id = await opened(2 * PART);
      const fresh = await opened(2 * PART);
      const dayAgo = Math.floor(Date.now() / 1000) - 25 * 3600;
      await env.DB.prepare(`UPDATE ${m.table} SET updated = ?1 WHERE id = ?2`).bind(dayAgo, id).run();
      await sweepUploads(env as Env);
      expect((await put(fresh, 1, randomBytes(PART))).status).toBe(200);
      const late = await put(id, 1, randomBytes(PART));
      if (m.swept) expect(late).toMatchObject({ status: 409, body: { message: "upload is aborted" } });
      else expect(late.status).toBe(200);
    });
  });
}
