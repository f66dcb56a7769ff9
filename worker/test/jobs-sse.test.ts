/**
 * Progress channels (docs/compatibility.md §5.5, §6.16): `/listen/<id>` with the original's frames, any number of
 * listeners, replay from the start, the stream ending with the job; `/api/jobs/<id>/events` with ids and
 * Last-Event-ID; `GET /api/jobs/<id>` and `GET /api/jobs`.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { jobEventStream } from "../src/jobs/sse";
import { asUser, fetchHub, json, migrate } from "./support/hub";
import {
  accepted,
  failJob,
  publishJob,
  readEvents,
  sendEvent,
  startTarJob,
  stubConverter,
} from "./support/jobs";

const stub = stubConverter();

beforeAll(migrate);
// Not restored: the real Queue may still deliver this file's messages after its last test.
beforeEach(() => stub.answer(accepted));

const COUNTS = { regular: 0, symlink: 0, directory: 0, special: 0, failure: 0, fullsize: 0 };

describe("/listen/<id>", () => {
  it("answers the original's 404 JSON for an unknown id", async () => {
    const res = await fetchHub("/listen/6b1a4c1e-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.text()).toBe('{"message":"job id not found","status":"error"}');
  });

  it("streams to several listeners at once, each from the start, and ends every stream with the job", async () => {
    const id = await startTarJob("sse-listen", "app.tar.gz");
    await stub.waitForDispatch(id);
    // Three listeners attached while the job runs.
    const listeners = [readEvents(`/listen/${id}`), readEvents(`/listen/${id}`), readEvents(`/listen/${id}`)];
    await new Promise((r) => setTimeout(r, 300));
    await sendEvent(id, 1, { message: "Building: processing item 1 of 2", progress: 50 });
    await sendEvent(id, 1, { message: "Building: processing item 2 of 2", progress: 100 });
    const published = await publishJob(id, 1, "sse-listen", "app.flist", "main");
    expect(published.status).toBe(200);

    const expected = [
      { status: "update", message: "Job queued", progress: 0 },
      { status: "update", message: "Building: processing item 1 of 2", progress: 50 },
      { status: "update", message: "Building: processing item 2 of 2", progress: 100 },
    ];
    const results = await Promise.all(listeners);
    for (const { res, text, data } of results) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/event-stream");
      expect(data.slice(0, 3)).toEqual(expected);
      expect(data).toHaveLength(4);
      const info = data[3];
      expect(info.status).toBe("info");
      expect(info.info.filename).toBe("app.flist");
      expect(info.info.file).toBe("app.flist");
      expect(Object.keys(info.info.flist)).toEqual(Object.keys(COUNTS));
      // The original's frames: `data: <python json.dumps>\n\n`, no `event:` or `id:` fields.
      expect(text.startsWith('data: {"status": "update", "message": "Job queued", "progress": 0}\n\n')).toBe(true);
      expect(text).not.toMatch(/^(event|id):/m);
    }

    // A listener arriving after the end replays everything and ends at once.
    const late = await readEvents(`/listen/${id}`);
    expect(late.data).toEqual(results[0]!.data);
  });

  it("ends with the error event when the job fails", async () => {
    const id = await startTarJob("listenfail");
    await stub.waitForDispatch(id);
    const listener = readEvents(`/listen/${id}`);
    await failJob(id, 1, "truncated archive");
    const { data } = await listener;
    expect(data.at(-1)).toEqual({ status: "error", message: "truncated archive" });
  });
});

describe("/api/jobs/<id>/events", () => {
  it("numbers events with `id:` and resumes after Last-Event-ID", async () => {
    const id = await startTarJob("events");
    await stub.waitForDispatch(id);
    await sendEvent(id, 1, { message: "step", progress: 10 });
    await failJob(id, 1, "boom");
    const all = await readEvents(`/api/jobs/${id}/events`);
    expect(all.frames.map((f) => f.split("\n")[0])).toEqual(["id: 1", "id: 2", "id: 3"]);
    expect(all.data.map((d) => d.status)).toEqual(["update", "update", "error"]);
    const resumed = await readEvents(`/api/jobs/${id}/events`, { "Last-Event-ID": "2" });
    expect(resumed.data).toEqual([{ status: "error", message: "boom" }]);
    expect((await fetchHub("/api/jobs/nope/events")).status).toBe(404);
  });

  it("closes a long-lived stream with a retry hint, so EventSource reconnects with Last-Event-ID", async () => {
    const id = await startTarJob("lifetime");
    await stub.waitForDispatch(id);
    const stream = jobEventStream(env, id, { style: "events", afterSeq: 0, maxLifetimeMs: 300 });
    const text = await new Response(stream).text();
    expect(text).toBe(
      'id: 1\ndata: {"status":"update","message":"Job queued","progress":0}\n\nretry: 1000\n\n',
    );
    expect((await json(`/api/jobs/${id}`)).body.payload.status).toBe("running");
  });
});

describe("job records", () => {
  it("GET /api/jobs/<id> shows status, progress, message and result", async () => {
    const id = await startTarJob("record", "rec.tar.gz");
    await stub.waitForDispatch(id);
    await sendEvent(id, 1, { message: "half", progress: 49.6 });
    const running = await json(`/api/jobs/${id}`);
    expect(running.status).toBe(200);
    expect(running.body.payload).toMatchObject({
      id,
      kind: "tar",
      user: "record",
      repository: "record",
      name: "rec.flist",
      status: "running",
      progress: 50,
      message: "half",
      attempts: 1,
      result: null,
      links: { self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events`, listen: `/listen/${id}` },
    });
    expect(JSON.stringify(running.body)).not.toMatch(/uploads\//);

    const published = await publishJob(id, 1, "record", "rec.flist", "main");
    const done = await json(`/api/jobs/${id}`);
    expect(done.body.payload).toMatchObject({ status: "succeeded", progress: 100, message: "published" });
    expect(done.body.payload.result).toMatchObject({ ...published.body.payload, counts: expect.any(Object) });
    expect(done.body.payload.finished).toEqual(expect.any(Number));
    expect((await json("/api/jobs/unknown")).status).toBe(404);
  });

  it("GET /api/jobs lists the acting repository's jobs, newest first, and needs a token", async () => {
    const a = await startTarJob("lister", "one.tar.gz");
    const b = await startTarJob("lister", "two.tar.gz");
    await startTarJob("someone-else", "three.tar.gz");
    const { status, body } = await json("/api/jobs", { headers: await asUser("lister") });
    expect(status).toBe(200);
    expect(body.payload.repository).toBe("lister");
    const ids = body.payload.jobs.map((j: { id: string }) => j.id);
    expect(new Set(ids)).toEqual(new Set([a, b]));
    expect((await json("/api/jobs")).status).toBe(401);
    expect((await json("/api/jobs?limit=0", { headers: await asUser("lister") })).status).toBe(400);
    const one = await json("/api/jobs?limit=1", { headers: await asUser("lister") });
    expect(one.body.payload.jobs).toHaveLength(1);
  });
});
