/**
 * The job state machine (docs/jobs-protocol.md): dispatch through the real Queue, duplicate deliveries,
 * lease expiry → re-dispatch (sweep and lazy reads), bounded attempts → failed, stale attempts → 409, one publish
 * whatever the number of deliveries, failure reports. The converter's answers are the only thing stood in for.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { JOB_SCAN_SQL } from "../src/jobs/store";
import { dumpCatalog, fetchHub, internalAuth, json, migrate } from "./support/hub";
import {
  accepted,
  deliver,
  expireLease,
  failJob,
  fakeArchive,
  jobRow,
  postUpload,
  publishJob,
  readEvents,
  sendEvent,
  startTarJob,
  stubConverter,
  sweep,
  uploadForm,
  waitFor,
} from "./support/jobs";

const stub = stubConverter();

beforeAll(migrate);
// Not restored: the real Queue may still deliver this file's messages after its last test.
beforeEach(() => stub.answer(accepted));

describe("dispatch", () => {
  it("an async upload is staged in R2, queued, and dispatched to the converter with the job spec", async () => {
    const bytes = await fakeArchive("hello");
    const fields = { "metadata-foo": "bar", "metadata-readme": "ignored", "metadata-backend": "ignored", other: "x" };
    const { status, body, res } = await postUpload("alice", "/upload", uploadForm(bytes, "My App (1).tar.gz", fields), {
      async: true,
    });
    expect(status, JSON.stringify(body)).toBe(202);
    const id = body.payload.job as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toEqual({
      status: "success",
      payload: {
        job: id,
        status: "queued",
        name: "My_App_1.flist",
        self: `/api/jobs/${id}`,
        events: `/api/jobs/${id}/events`,
        listen: `/listen/${id}`,
      },
    });
    expect(res.headers.get("Location")).toBe(`/api/jobs/${id}`);

    const staged = await env.FLISTS.get(`uploads/${id}`);
    expect(new Uint8Array(await staged!.arrayBuffer())).toEqual(bytes);

    // Delivered by the real Queue to the Worker's queue() consumer.
    const spec = await stub.waitForDispatch(id);
    expect(spec).toEqual({
      id,
      attempt: 1,
      kind: "tar",
      repository: "alice",
      name: "My_App_1.flist",
      metadata: { foo: "bar" },
    });
    const call = stub.calls.find((c) => c.json?.id === id)!;
    expect(call.authorization).toBe(`Bearer ${env.INTERNAL_SECRET}`);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "running", attempts: 1, user: "alice", repository: "alice", kind: "tar" });
  });

  it("duplicate deliveries, even concurrent ones, dispatch a job once and are acknowledged", async () => {
    const id = await startTarJob("dup");
    const results = await Promise.all([deliver(id), deliver(id), deliver(id)]);
    await waitFor(async () => (await jobRow(id)).attempts === 1);
    // Let the real delivery arrive too.
    await stub.waitForDispatch(id);
    await new Promise((r) => setTimeout(r, 1500));
    expect(stub.dispatches(id)).toHaveLength(1);
    for (const r of results) {
      expect(r.retryMessages).toEqual([]);
      expect(r.explicitAcks).toHaveLength(1);
    }
    expect((await jobRow(id)).attempts).toBe(1);
  });

  it("a malformed queue message is dropped (acknowledged), not retried forever", async () => {
    const { createMessageBatch, createExecutionContext, getQueueResult } = await import("cloudflare:test");
    const worker = (await import("../src/index")).default;
    const batch = createMessageBatch("zos-hub-jobs", [{ id: "m1", timestamp: new Date(), attempts: 1, body: "junk" }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m1"]);
  });
});

describe("leases", () => {
  it("an expired lease is dispatched again by the sweep; the stale attempt gets 409 everywhere", async () => {
    const id = await startTarJob("lease");
    await stub.waitForDispatch(id);
    expect((await sendEvent(id, 1, { message: "Building: processing item 1 of 4", progress: 25 })).status).toBe(200);
    expect(await jobRow(id)).toMatchObject({ progress: 25, message: "Building: processing item 1 of 4" });

    // A live lease: the sweep leaves the job alone.
    await sweep();
    expect(stub.dispatches(id)).toHaveLength(1);

    await expireLease(id); // the converter died: nothing renewed the lease
    await sweep();
    const second = await stub.waitForDispatch(id, 2);
    expect(second.attempt).toBe(2);
    expect(await jobRow(id)).toMatchObject({ status: "running", attempts: 2 });

    const before = await dumpCatalog();
    const stale = await sendEvent(id, 1, { message: "late", progress: 50 });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toMatch(/stale attempt 1/);
    expect((await publishJob(id, 1, "lease", "app.flist")).status).toBe(409);
    expect((await failJob(id, 1, "late failure")).status).toBe(409);
    expect(await dumpCatalog()).toEqual(before);

    const published = await publishJob(id, 2, "lease", "app.flist");
    expect(published.status, JSON.stringify(published.body)).toBe(200);
    expect(await jobRow(id)).toMatchObject({ status: "succeeded", attempts: 2, progress: 100 });
    const { data } = await readEvents(`/listen/${id}`);
    expect(data.map((d: { message?: string }) => d.message)).toEqual([
      "Job queued",
      "Building: processing item 1 of 4",
      "Retrying (attempt 2 of 3): the converter stopped reporting (attempt 1, lease of 60 s expired)",
      undefined,
    ]);
  });

  it("heartbeats renew the lease without adding events", async () => {
    const id = await startTarJob("beat");
    await stub.waitForDispatch(id);
    await env.DB.prepare("UPDATE jobs SET lease_until = 5 WHERE id = ?1").bind(id).run();
    const before = (await env.DB.prepare("SELECT COUNT(*) AS n FROM job_events WHERE job_id = ?1").bind(id).first<{ n: number }>())!.n;
    const beat = await sendEvent(id, 1);
    expect(beat.status).toBe(200);
    expect((await jobRow(id)).lease_until).toBeGreaterThan(Date.now() / 1000);
    const after = (await env.DB.prepare("SELECT COUNT(*) AS n FROM job_events WHERE job_id = ?1").bind(id).first<{ n: number }>())!.n;
    expect(after).toBe(before);
    await sweep();
    expect(stub.dispatches(id)).toHaveLength(1);
  });

  it("reading a job whose lease expired re-dispatches it (no cron needed)", async () => {
    const id = await startTarJob("lazy");
    await stub.waitForDispatch(id);
    await expireLease(id);
    const { status, body } = await json(`/api/jobs/${id}`);
    expect(status).toBe(200);
    expect(body.payload).toMatchObject({ id, status: "running", attempts: 2 });
    expect((await stub.waitForDispatch(id, 2)).attempt).toBe(2);
  });

  it("bounded attempts: an unreachable converter fails the job with the reason", async () => {
    stub.answer(() => {
      throw new TypeError("connection refused");
    });
    const id = await startTarJob("down");
    await waitFor(async () => (await jobRow(id)).attempts >= 1);
    // Each delivery after the retry delay is one more attempt; time is advanced by expiring the lease.
    for (let i = 0; i < 5 && (await jobRow(id)).status !== "failed"; i++) {
      await expireLease(id);
      const result = await deliver(id);
      const row = await jobRow(id);
      if (row.status !== "failed") {
        expect(result.retryMessages).toHaveLength(1);
        expect(row.last_error).toBe("converter unreachable: connection refused");
      } else expect(result.explicitAcks).toHaveLength(1);
    }
    const row = await jobRow(id);
    expect(row.status).toBe("failed");
    expect(row.attempts).toBe(3);
    expect(row.message).toBe("gave up after 3 attempts: converter unreachable: connection refused");
    // The staged input is gone, the listeners' stream ends with the error.
    expect(await env.FLISTS.head(`uploads/${id}`)).toBeNull();
    const events = await readEvents(`/listen/${id}`);
    expect(events.data.at(-1)).toEqual({ status: "error", message: row.message });
  });

  it("a running job whose converter went silent fails after the last attempt with that reason", async () => {
    const id = await startTarJob("silent");
    await stub.waitForDispatch(id);
    for (const n of [2, 3]) {
      await expireLease(id);
      await sweep();
      await stub.waitForDispatch(id, n);
    }
    await expireLease(id);
    await sweep();
    const row = await jobRow(id);
    expect(row.status).toBe("failed");
    expect(row.message).toBe("gave up after 3 attempts: the converter stopped reporting (attempt 3, lease of 60 s expired)");
  });

  it("a converter refusing the spec (4xx) fails the job at once; a 5xx is retried; a busy one (503) costs no attempt", async () => {
    stub.answer(() => Response.json({ status: "error", message: "unknown kind" }, { status: 400 }));
    const refused = await startTarJob("refused");
    await waitFor(async () => (await jobRow(refused)).status === "failed");
    expect((await jobRow(refused)).message).toBe("converter refused the job: unknown kind");

    stub.answer(() => new Response("bad gateway", { status: 502 }));
    const broken = await startTarJob("broken-converter");
    await waitFor(async () => (await jobRow(broken)).last_error !== null);
    expect(await jobRow(broken)).toMatchObject({
      status: "running",
      attempts: 1,
      last_error: "converter unavailable: 502 bad gateway",
    });

    stub.answer(() => Response.json({ status: "error", message: "queue full" }, { status: 503 }));
    const busy = await startTarJob("busy");
    await waitFor(async () => (await jobRow(busy)).last_error !== null);
    for (let i = 0; i < 4; i++) {
      await expireLease(busy);
      expect((await deliver(busy)).retryMessages).toHaveLength(1);
    }
    expect(await jobRow(busy)).toMatchObject({ status: "queued", attempts: 0, last_error: "converter busy: queue full" });
    expect(stub.dispatches(busy).length).toBeGreaterThanOrEqual(5);

    // Capacity again: the next delivery starts attempt 1.
    stub.answer(accepted);
    await expireLease(busy);
    await deliver(busy);
    expect(await jobRow(busy)).toMatchObject({ status: "running", attempts: 1, last_error: null });
  });
});

describe("publish and failure", () => {
  it("a job publishes at most once: repeated publishes and deliveries write nothing more", async () => {
    const id = await startTarJob("once");
    await stub.waitForDispatch(id);
    const first = await publishJob(id, 1, "once", "app.flist", "main");
    expect(first.status).toBe(200);
    const after = await dumpCatalog();
    // The converter retries its publish (lost answer), a stale attempt publishes other bytes, the message comes again.
    const again = await publishJob(id, 1, "once", "app.flist", "main");
    const other = await publishJob(id, 2, "once", "app.flist", "overlay");
    expect(again).toEqual(first);
    expect(other).toEqual(first);
    expect(await deliver(id)).toMatchObject({ retryMessages: [] });
    expect(await dumpCatalog()).toEqual(after);
    expect(stub.dispatches(id)).toHaveLength(1);

    const row = await jobRow(id);
    expect(row.status).toBe("succeeded");
    expect(JSON.parse(row.result!)).toMatchObject({ repository: "once", name: "app.flist", sha256: first.body.payload.sha256 });
    expect(await env.FLISTS.head(`uploads/${id}`)).toBeNull();
    const versions = await env.DB.prepare("SELECT COUNT(*) AS n FROM entry_versions WHERE repository = 'once'").first<{ n: number }>();
    expect(versions!.n).toBe(0);
  });

  it("concurrent publishes of one job (same or stale attempts) write the catalog once", async () => {
    const id = await startTarJob("race");
    await stub.waitForDispatch(id);
    await expireLease(id);
    await sweep();
    await stub.waitForDispatch(id, 2);
    const results = await Promise.all([
      publishJob(id, 2, "race", "app.flist", "main"),
      publishJob(id, 1, "race", "app.flist", "overlay"),
      publishJob(id, 2, "race", "app.flist", "main"),
      publishJob(id, 1, "race", "app.flist", "meta"),
    ]);
    const winners = results.filter((r) => r.status === 200);
    expect(winners.length).toBeGreaterThanOrEqual(2);
    for (const r of results) expect([200, 409], JSON.stringify(r.body)).toContain(r.status);
    // Every success answers the one publish that happened: attempt 2's bytes.
    const sha = new Set(winners.map((r) => r.body.payload.sha256));
    expect(sha.size).toBe(1);
    const entry = await env.DB.prepare("SELECT blob FROM entries WHERE repository = 'race' AND name = 'app.flist'")
      .first<{ blob: string }>();
    expect(sha.has(entry!.blob)).toBe(true);
    const counts = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM entry_versions WHERE repository = 'race') AS versions,
              (SELECT COUNT(*) FROM publish_jobs WHERE job_id = ?1) AS publishes,
              (SELECT COUNT(*) FROM job_events WHERE job_id = ?1 AND json_extract(data, '$.status') = 'info') AS infos`,
    )
      .bind(id)
      .first<{ versions: number; publishes: number; infos: number }>();
    expect(counts).toEqual({ versions: 0, publishes: 1, infos: 1 });
  });

  it("a job's publish must name the job's target and carry its attempt", async () => {
    const id = await startTarJob("target");
    await stub.waitForDispatch(id);
    const before = await dumpCatalog();
    const wrong = await publishJob(id, 1, "target", "other.flist");
    expect(wrong.status).toBe(409);
    expect(wrong.body.message).toBe(`job ${id} publishes target/app.flist, not target/other.flist`);
    const noAttempt = await publishJob(id, undefined, "target", "app.flist");
    expect(noAttempt.status).toBe(400);
    expect(await dumpCatalog()).toEqual(before);
  });

  it("a reported failure fails the job, drops its input and publishes nothing", async () => {
    const id = await startTarJob("broken");
    await stub.waitForDispatch(id);
    const before = await dumpCatalog();
    const res = await failJob(id, 1, "archive member escapes the root: ../etc/passwd", 400);
    expect(res).toEqual({ status: 200, body: { status: "success" } });
    expect(await jobRow(id)).toMatchObject({ status: "failed", message: "archive member escapes the root: ../etc/passwd" });
    expect(await env.FLISTS.head(`uploads/${id}`)).toBeNull();
    expect((await publishJob(id, 1, "broken", "app.flist")).status).toBe(409);
    expect((await failJob(id, 1, "again")).status).toBe(409);
    expect(await dumpCatalog()).toEqual(before);
  });

  it("an over-long failure or progress message is truncated, never refused: the job fails once with it", async () => {
    const id = await startTarJob("long-reason");
    await stub.waitForDispatch(id);
    const progress = await sendEvent(id, 1, { message: `Building: ${"p".repeat(5000)}`, progress: 10 });
    expect(progress.status).toBe(200);
    const reason = `invalid archive: ${"x".repeat(100_000)}`;
    expect((await failJob(id, 1, reason)).status).toBe(200);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "failed", attempts: 1 });
    expect(row.message.length).toBeLessThanOrEqual(4000);
    expect(row.message).toMatch(/^invalid archive: x+… \(100017 characters\)$/);
    const { data } = await readEvents(`/listen/${id}`);
    const messages = (data as { status: string; message?: string }[]).map((e) => e.message ?? "");
    expect(messages.find((m) => m.startsWith("Building"))).toMatch(/^Building: p+… \(5010 characters\)$/);
    expect(data.at(-1)).toEqual({ status: "error", message: row.message });
  });

  it("the converter reads the staged input through the internal route, until the job ends", async () => {
    const bytes = await fakeArchive("input bytes");
    const { body } = await postUpload("reader", "/upload", uploadForm(bytes, "in.tar.gz"), { async: true });
    const id = body.payload.job as string;
    const res = await fetchHub(`/internal/jobs/${id}/input`, { headers: internalAuth });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    await stub.waitForDispatch(id);
    await failJob(id, 1, "done");
    expect((await fetchHub(`/internal/jobs/${id}/input`, { headers: internalAuth })).status).toBe(409);
  });
});

describe("internal job routes", () => {
  const routes = [
    ["GET", "/internal/jobs/x/input"],
    ["POST", "/internal/jobs/x/events"],
    ["POST", "/internal/jobs/x/fail"],
    ["POST", "/internal/jobs/x/requeue"],
  ] as const;

  it("refuse callers without the internal secret and answer 404 for unknown jobs", async () => {
    for (const [method, path] of routes) {
      const body = method === "POST" ? JSON.stringify({ attempt: 1, message: "m" }) : undefined;
      const none = await fetchHub(path, { method, body });
      expect(none.status, path).toBe(401);
      const wrong = await fetchHub(path, { method, body, headers: { Authorization: "Bearer nope" } });
      expect(wrong.status, path).toBe(401);
      expect(await wrong.json()).toEqual({ status: "error", message: "invalid internal secret" });
      const token = await fetchHub(path, { method, body, headers: { Authorization: "Bearer " + "a".repeat(40) } });
      expect(token.status, path).toBe(401);
      const unknown = await fetchHub(path, { method, body, headers: { ...internalAuth, "Content-Type": "application/json" } });
      expect(unknown.status, path).toBe(404);
      expect(await unknown.json()).toEqual({ status: "error", message: "job id not found" });
    }
  });

  it("requeue sends a duplicate delivery, which changes nothing; sweep runs the lease sweep on demand", async () => {
    expect((await fetchHub("/internal/jobs/sweep", { method: "POST" })).status).toBe(401);
    const id = await startTarJob("operator");
    await stub.waitForDispatch(id);
    const requeued = await fetchHub(`/internal/jobs/${id}/requeue`, { method: "POST", headers: internalAuth });
    expect(requeued.status).toBe(202);
    await new Promise((r) => setTimeout(r, 1500)); // the real Queue delivers it
    expect(stub.dispatches(id)).toHaveLength(1);

    await expireLease(id);
    const swept = await fetchHub("/internal/jobs/sweep", { method: "POST", headers: internalAuth });
    expect(swept.status).toBe(200);
    expect(((await swept.json()) as { payload: { dispatched: number } }).payload.dispatched).toBeGreaterThanOrEqual(1);
    expect((await stub.waitForDispatch(id, 2)).attempt).toBe(2);

    expect((await publishJob(id, 2, "operator", "app.flist")).status).toBe(200);
    const after = await dumpCatalog();
    await fetchHub(`/internal/jobs/${id}/requeue`, { method: "POST", headers: internalAuth });
    await new Promise((r) => setTimeout(r, 1500));
    expect(stub.dispatches(id)).toHaveLength(2);
    expect(await dumpCatalog()).toEqual(after);
  });

  it("validate their bodies", async () => {
    const id = await startTarJob("bodies");
    await stub.waitForDispatch(id);
    expect((await sendEvent(id, 1, { message: "x", progress: 101 })).status).toBe(400);
    expect((await failJob(id, 0, "x")).status).toBe(400);
    const bad = await fetchHub(`/internal/jobs/${id}/events`, { method: "POST", headers: internalAuth, body: "{" });
    expect(bad.status).toBe(400);
    expect((await jobRow(id)).status).toBe("running");
  });
});

describe("retention", () => {
  it("the sweep deletes finished jobs and their events after the retention, never unfinished ones", async () => {
    const old = await startTarJob("retention", "old.tar.gz");
    const recent = await startTarJob("retention", "recent.tar.gz");
    const running = await startTarJob("retention", "running.tar.gz");
    for (const id of [old, recent, running]) await stub.waitForDispatch(id);
    await failJob(old, 1, "bad");
    await failJob(recent, 1, "bad");
    const longAgo = Math.floor(Date.now() / 1000) - 31 * 86_400;
    // 31 days pass for `old` (a finished job's lease_until is its end time) and for the running one's lease.
    await env.DB.prepare("UPDATE jobs SET lease_until = ?2, finished = ?2 WHERE id = ?1").bind(old, longAgo).run();
    await sendEvent(running, 1);
    await sweep();
    expect((await json(`/api/jobs/${old}`)).status).toBe(404);
    const events = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_events WHERE job_id = ?1").bind(old).first<{ n: number }>();
    expect(events!.n).toBe(0);
    expect((await jobRow(recent)).status).toBe("failed");
    expect((await jobRow(running)).status).toBe("running");
  });
});

describe("query plans", () => {
  for (const [name, sql] of Object.entries(JOB_SCAN_SQL)) {
    it(`${name} reads an index range, never the whole table`, async () => {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind("x", 1).all<{ detail: string }>();
      const details = results.map((r) => r.detail);
      expect(details.length).toBeGreaterThan(0);
      expect(details.filter((d) => /^SCAN /.test(d)), details.join("\n")).toEqual([]);
    });
  }
});
