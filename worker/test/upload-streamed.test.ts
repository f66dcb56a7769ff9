/**
 * The streamed raw upload with conversion overlapping the upload (uploads/streamed.ts, docs/jobs-protocol.md
 * "Streamed uploads"): attempt 1 gets the archive inline while R2 gets the same bytes; when the converter is busy
 * or unreachable the job is dispatched the ordinary way once the input is staged; nothing is published from a
 * job whose input is not entirely in R2.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { asUser, fetchHub, migrate } from "./support/hub";
import { accepted, jobRow, publishJob, randomBytes, stubConverter, waitFor } from "./support/jobs";

const stub = stubConverter();

beforeAll(migrate);

async function put(user: string, filename: string, bytes: Uint8Array<ArrayBuffer>) {
  const res = await fetchHub(`/api/flist/me/upload/${filename}?async=1`, { method: "PUT", headers: await asUser(user), body: bytes });
  return { status: res.status, body: (await res.json()) as any };
}

describe("streamed upload, inline attempt", () => {
  it("a busy converter gives the attempt back: the job is dispatched from R2 as attempt 1 once staged", async () => {
    const staged: (number | null)[] = [];
    stub.answer(async (call) => {
      if (call.inline) return Response.json({ status: "error", message: "converter busy, retry later" }, { status: 503 });
      // The ordinary dispatch comes after the input is staged: the converter would read it at once.
      staged.push((await env.FLISTS.head(`uploads/${call.json.id}`))?.size ?? null);
      return accepted(call);
    });
    try {
      const bytes = randomBytes(200_000);
      const { status, body } = await put("busy", "busy.tar.gz", bytes);
      expect(status, JSON.stringify(body)).toBe(202);
      const id = body.payload.job;
      const spec = await stub.waitForDispatch(id, 2);
      expect(stub.calls.filter((c) => c.json?.id === id).map((c) => c.inline)).toEqual([true, false]);
      expect(spec).toMatchObject({ id, attempt: 1, kind: "tar", name: "busy.flist" });
      expect(staged).toEqual([bytes.length]);
      expect(await jobRow(id)).toMatchObject({ status: "running", attempts: 1 });
    } finally {
      stub.answer(accepted);
    }
  });

  it("an unreachable converter costs attempt 1: attempt 2 reads R2, after a Retrying event", async () => {
    stub.answer((call) => {
      if (call.inline) throw new TypeError("connection refused");
      return accepted(call);
    });
    try {
      const { status, body } = await put("gone", "gone.tar.gz", randomBytes(100_000));
      expect(status, JSON.stringify(body)).toBe(202);
      const id = body.payload.job;
      const spec = await stub.waitForDispatch(id, 2);
      expect(spec).toMatchObject({ id, attempt: 2 });
      expect(stub.calls.filter((c) => c.json?.id === id).map((c) => [c.inline, c.json.attempt])).toEqual([[true, 1], [false, 2]]);
      const events = await env.DB.prepare("SELECT data FROM job_events WHERE job_id = ?1 ORDER BY seq").bind(id).all<{ data: string }>();
      expect(events.results.map((e) => JSON.parse(e.data).message)).toContainEqual(expect.stringMatching(/^Retrying \(attempt 2 of \d\): converter unreachable: /));
    } finally {
      stub.answer(accepted);
    }
  });

  it("publishes nothing while the input is not entirely in R2, then publishes once", async () => {
    const { status, body } = await put("guard", "guard.tar.gz", randomBytes(50_000));
    expect(status).toBe(202);
    const id = body.payload.job;
    await stub.waitForDispatch(id);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "running", attempts: 1 });
    // As while the upload still runs: no object under the input key yet (R2 writes are all or nothing).
    const object = await env.FLISTS.get(row.input_key!);
    const bytes = new Uint8Array(await object!.arrayBuffer());
    await env.FLISTS.delete(row.input_key!);
    const early = await publishJob(id, 1, "guard", "guard.flist");
    expect(early.status).toBe(503);
    expect(early.body.message).toBe(`the input of job ${id} is not fully uploaded yet`);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM entries WHERE repository = 'guard'").first("n")).toBe(0);

    await env.FLISTS.put(row.input_key!, bytes);
    const done = await publishJob(id, 1, "guard", "guard.flist");
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await waitFor(async () => (await jobRow(id)).status === "succeeded", 8000, "the job to succeed");
    expect(await env.FLISTS.head(row.input_key!)).toBeNull();
  });
});
