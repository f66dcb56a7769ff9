/**
 * Streamed uploads (docs/jobs-protocol.md "Streamed uploads"): `POST /jobs` with the spec in `X-Job-Spec` and the
 * archive as the body. The conversion starts while the body still arrives; a body that breaks off publishes
 * nothing and fails nothing (the Worker decides); an instance without a free slot refuses at once.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FIXTURES, type Rig, SECRET, expected, jobId, makeTarGz, startRig, waitFor } from "./service-support.ts";

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ CONVERTER_CONCURRENCY: "1" });
});

// CONVERTER_CONCURRENCY=1: each test starts once the previous job has left its slot.
beforeEach(async () => {
  await waitFor(() => rig.converter.runner.size === 0, 20_000, "a free slot");
});

afterAll(async () => {
  await rig?.stop();
});

function tarSpec(name: string) {
  return { id: jobId("inline"), attempt: 1, kind: "tar", repository: "alice", name, metadata: { tag: "v1" } };
}

interface Sending {
  req: http.ClientRequest;
  response: Promise<{ status: number; body: string }>;
}

/** Opens the inline request; the caller writes the body. */
function openInline(spec: unknown, size: number, headers: Record<string, string> = {}): Sending {
  const req = http.request(`${rig.converter.url}/jobs`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${SECRET}`,
      "content-type": "application/octet-stream",
      "content-length": String(size),
      "x-input-size": String(size),
      "x-job-spec": Buffer.from(JSON.stringify(spec)).toString("base64url"),
      ...headers,
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  // The tests that break a request off or get it refused look at the outcome, not at this promise.
  response.catch(() => undefined);
  return { req, response };
}

const write = (req: http.ClientRequest, bytes: Buffer) => new Promise<void>((resolve, reject) => req.write(bytes, (err) => (err ? reject(err) : resolve())));

describe("inline input", () => {
  it("converts while the body arrives, and publishes once all of it came", async () => {
    const whole = fs.readFileSync(path.join(FIXTURES, "tree-main.tar.gz"));
    const spec = tarSpec("main.flist");
    const sending = openInline(spec, whole.length);
    const half = Math.floor(whole.length / 2);
    await write(sending.req, whole.subarray(0, half));
    // Overlap: the job reports building progress before the second half is even sent.
    await waitFor(() => (rig.peer.events.get(spec.id) ?? []).some((e) => e.event.message?.startsWith("Building: ")), 20_000, "a Building event");
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
    sending.req.end(whole.subarray(half));
    expect((await sending.response).status).toBe(202);

    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish.info).toMatchObject({ jobId: spec.id, attempt: 1 });
    expect(outcome.publish.info.contents).toEqual(expected("main", "find.json"));
    expect(outcome.publish.info.metadata.tag).toBe("v1");
  });

  it("a body that breaks off publishes nothing and fails nothing", async () => {
    const whole = fs.readFileSync(path.join(FIXTURES, "tree-main.tar.gz"));
    const spec = tarSpec("cut.flist");
    const sending = openInline(spec, whole.length);
    sending.response.catch(() => undefined);
    await write(sending.req, whole.subarray(0, Math.floor(whole.length / 2)));
    await waitFor(() => (rig.peer.events.get(spec.id) ?? []).length > 0, 20_000, "the job's first event");
    sending.req.destroy();
    await waitFor(() => rig.logs.some((l) => l.includes(spec.id) && l.includes("stopped: the inline input broke off")), 20_000, "the quiet stop");
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
    expect(rig.peer.fails.get(spec.id)).toBeUndefined();
  });

  it("a hostile archive that arrived whole fails with the rule it broke", async () => {
    const file = await makeTarGz(path.join(rig.work, "inline-traversal.tar.gz"), [
      { name: "./ok.txt", body: "fine" },
      { name: "../escape.txt", body: "evil" },
    ]);
    const bytes = fs.readFileSync(file);
    const spec = tarSpec("evil.flist");
    const sending = openInline(spec, bytes.length);
    sending.req.end(bytes);
    expect((await sending.response).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome).toMatchObject({ kind: "fail", fail: { attempt: 1 } });
    if (outcome.kind !== "fail") return;
    expect(outcome.fail.message).toMatch(/^invalid archive: .*escape\.txt.*\[rule: dot-dot\]$/);
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
  });

  it("is refused at once without a free slot, with a bad spec, or a size that is not the body's", async () => {
    const whole = fs.readFileSync(path.join(FIXTURES, "tree-main.tar.gz"));
    const first = tarSpec("slot.flist");
    const holding = openInline(first, whole.length);
    holding.response.catch(() => undefined);
    await write(holding.req, whole.subarray(0, 1024));
    await waitFor(() => rig.converter.runner.size === 1, 20_000, "the first job running");

    // CONVERTER_CONCURRENCY=1 and the slot is taken: 503 without reading the body, the connection closed.
    const second = openInline(tarSpec("busy.flist"), whole.length);
    second.req.on("error", () => undefined);
    second.req.write(whole.subarray(0, 1024));
    const refused = await second.response;
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).message).toMatch(/busy/);

    holding.req.destroy();
    await waitFor(() => rig.converter.runner.size === 0, 20_000, "the slot freed");

    const notTar = openInline({ ...tarSpec("m.flist"), kind: "merge", sources: [{ repository: "a", name: "b.flist" }] }, 10);
    notTar.req.end(Buffer.alloc(10));
    expect((await notTar.response).status).toBe(400);
    const mismatch = openInline(tarSpec("n.flist"), 10, { "x-input-size": "11" });
    mismatch.req.end(Buffer.alloc(10));
    expect((await mismatch.response).status).toBe(400);
    const garbage = openInline(tarSpec("g.flist"), 10, { "x-job-spec": "not json" });
    garbage.req.end(Buffer.alloc(10));
    expect((await garbage.response).status).toBe(400);
  });
});
