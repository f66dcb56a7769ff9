/**
 * Hostile trees on the real local stack, with the converter's default limits (docs/limits.md): an archive with a
 * 10,000-deep path and one with a 4,096-byte name are form uploads that fail once (attempt 1, no retry), quickly,
 * with the real reason, its name shortened and quoted. And the Worker's fail route records a 100 KB reason (truncated)
 * instead of refusing it, which is what used to leave such jobs to their lease and three attempts.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sseEvents } from "./support/flists.ts";
import { type Stack, startStack } from "./support/stack.ts";

const USER = "trees-alice";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

interface JobView {
  status: string;
  message: string;
  attempts: number;
  result: unknown;
}

async function job(id: string): Promise<JobView> {
  const res = await fetch(`${stack.hubUrl}/api/jobs/${id}`);
  return ((await res.json()) as { payload: JobView }).payload;
}

/** A plain tar of the given regular files, in memory (they are tiny). */
async function tarOf(members: { name: string; body: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) parts.push(chunk);
  })();
  for (const m of members) pack.entry({ name: m.name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, m.body);
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** The original's form upload (`POST /api/flist/me/upload`, synchronous), timed. */
async function formUpload(name: string, archive: Buffer): Promise<{ status: number; message: string; job: string; seconds: number }> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(gzipSync(archive))]), `${name}.tar.gz`);
  const started = performance.now();
  const res = await fetch(`${stack.hubUrl}/api/flist/me/upload`, { method: "POST", headers: await stack.auth(USER), body: form });
  const body = (await res.json()) as { message?: string };
  return { status: res.status, message: body.message ?? "", job: res.headers.get("x-hub-job") ?? "", seconds: (performance.now() - started) / 1000 };
}

describe("hostile trees fail once, fast, with their real reason", () => {
  const deep = Array.from({ length: 10_000 }, () => "d").join("/");
  const cases = [
    {
      label: "a 10,000-deep path",
      member: `${deep}/f`,
      reason: /^invalid archive: "d\/d\/d.*….*d\/f" \(20001 bytes\): path has 10001 components, more than the 256 allowed \[rule: too-deep\]$/,
    },
    {
      label: "a 4,096-byte name",
      member: `dir/${"n".repeat(4096)}`,
      reason: /^invalid archive: "dir\/n+…n+" \(4100 bytes\): a component has 4096 bytes, more than the 255 allowed \[rule: name-too-long\]$/,
    },
  ];

  for (const { label, member, reason } of cases) {
    it(`${label}: 422 with the reason, attempt 1, nothing published`, async () => {
      const archive = await tarOf([{ name: "ok.txt", body: "fine\n" }, { name: member, body: "x" }]);
      const answer = await formUpload("tree", archive);
      expect(answer.status, answer.message).toBe(422);
      expect(answer.message).toMatch(reason);
      // The failure used to go unrecorded, the job ran into its lease three times (~3 minutes).
      expect(answer.seconds).toBeLessThan(10);
      const state = await job(answer.job);
      expect(state).toMatchObject({ status: "failed", message: answer.message, attempts: 1, result: null });
      const events = (await sseEvents(`${stack.hubUrl}/listen/${answer.job}`)) as { status: string; message?: string }[];
      expect(events.filter((e) => e.message?.startsWith("Retrying") || e.message?.startsWith("Starting (attempt"))).toEqual([]);
      expect(events.at(-1)).toEqual({ status: "error", message: answer.message });
      expect((await fetch(`${stack.hubUrl}/${USER}/tree.flist.md5`)).status).toBe(404);
      console.log(`${label}: failed in ${answer.seconds.toFixed(2)} s`);
    });
  }
});

describe("the Worker's fail route", () => {
  it("records a 100 KB reason truncated, for the running attempt, instead of refusing it", async () => {
    // A streamed upload holds its job running (attempt 1, claimed by the Worker) while its body is still arriving.
    const archive = await tarOf([{ name: "a.bin", body: "a".repeat(2 * 1024 * 1024) }]);
    const auth = await stack.auth(USER);
    const url = new URL(`${stack.hubUrl}/api/flist/me/upload/long-reason.tar.gz`);
    const req = http.request(url, { method: "PUT", headers: { ...auth, "content-length": String(archive.length) } });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
      });
      req.on("error", reject);
    });
    answered.catch(() => undefined); // awaited below; a failed assertion before that must not leave it unhandled
    req.write(archive.subarray(0, 64 * 1024));
    try {
      let id = "";
      for (let i = 0; i < 100 && id === ""; i++) {
        const list = (await (await fetch(`${stack.hubUrl}/api/jobs?limit=10`, { headers: auth })).json()) as { payload: { jobs: { id: string; name: string; status: string }[] } };
        id = list.payload.jobs.find((j) => j.name === "long-reason.flist" && j.status === "running")?.id ?? "";
        if (id === "") await new Promise((r) => setTimeout(r, 100));
      }
      expect(id).not.toBe("");

      const reason = `invalid archive: ${"x".repeat(100 * 1024)}`;
      const fail = await fetch(`${stack.hubUrl}/internal/jobs/${id}/fail`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack.internalSecret}`, "content-type": "application/json" },
        body: JSON.stringify({ attempt: 1, message: reason }),
      });
      expect(fail.status, await fail.clone().text()).toBe(200);
      const state = await job(id);
      expect(state).toMatchObject({ status: "failed", attempts: 1 });
      expect(state.message.length).toBeLessThanOrEqual(4000);
      expect(state.message).toMatch(/^invalid archive: x+… \(102417 characters\)$/);

      req.end(archive.subarray(64 * 1024));
      const { status, body } = await answered;
      expect(status, body).toBe(422);
      expect((JSON.parse(body) as { message: string }).message).toBe(state.message);
      expect((await fetch(`${stack.hubUrl}/${USER}/long-reason.flist.md5`)).status).toBe(404);
    } finally {
      req.destroy();
    }
  });
});
