/**
 * The converter killed (SIGKILL) in the middle of a job: the job's lease expires (a short
 * `HUB_JOB_LEASE_SECONDS`), the lease sweep (`scheduled()`) dispatches it again once the converter is back, and
 * it completes with a single publish. And a converter that never comes back: the job fails after its bounded
 * attempts with the last reason.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findView, readFlist } from "../converter/src/flist/index.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { fixture, sseEvents } from "./support/flists.ts";

const USER = "lease-alice";
const LEASE_SECONDS = 3;
/** Long enough to convert that the kill lands mid-job (zeros: a tiny upload, seconds of chunking on one thread). */
const FILE_BYTES = 768 * 1024 * 1024;
let stack: Stack;
let work: string;
let archive: string;

beforeAll(async () => {
  [stack, work] = await Promise.all([
    startStack({ workerVars: { HUB_JOB_LEASE_SECONDS: String(LEASE_SECONDS) }, converterEnv: { CONVERTER_THREADS: "1" } }),
    fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-lease-")),
  ]);
  archive = path.join(work, "slow.tar.gz");
  const pack = tar.pack();
  const done = pipeline(pack, createGzip({ level: 1 }), fs.createWriteStream(archive));
  const entry = pack.entry({ name: "zeros.bin", mode: 0o644, size: FILE_BYTES });
  const block = Buffer.alloc(1024 * 1024);
  await pipeline(Readable.from((function* () { for (let n = 0; n < FILE_BYTES / block.length; n++) yield block; })()), entry);
  pack.finalize();
  await done;
});

afterAll(async () => {
  await stack?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

interface JobState {
  status: string;
  progress: number;
  message: string;
  attempts: number;
}

async function job(id: string): Promise<JobState> {
  return ((await (await fetch(`${stack.hubUrl}/api/jobs/${id}`)).json()) as { payload: JobState }).payload;
}

describe("the converter killed in the middle of a job", () => {
  it("completes after the converter is back (lease expiry, re-dispatch), publishing once", async () => {
    const res = await fetch(`${stack.hubUrl}/api/flist/me/upload/slow.tar.gz?async=1`, {
      method: "PUT",
      headers: await stack.auth(USER),
      body: new Uint8Array(fs.readFileSync(archive)),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const id = ((await res.json()) as { payload: { job: string } }).payload.job;

    // Wait for the conversion to be under way, then kill the converter without warning.
    const deadline = Date.now() + 60_000;
    let state = await job(id);
    while (!(state.status === "running" && state.progress > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await job(id);
    }
    await stack.stopConverter("SIGKILL");
    state = await job(id);
    expect(state.status, `killed mid-job: ${JSON.stringify(state)}`).toBe("running");
    expect(state.progress).toBeLessThan(100);
    expect(state.attempts).toBe(1);

    await stack.startConverter();
    // The lease runs out (nothing renews it now), then the cron sweep dispatches attempt 2.
    await new Promise((r) => setTimeout(r, (LEASE_SECONDS + 1) * 1000));
    await stack.triggerScheduled();

    const events = (await sseEvents(`${stack.hubUrl}/listen/${id}`, 180_000)) as { status: string; message?: string }[];
    expect(events.at(-1)?.status, JSON.stringify(events.slice(-3))).toBe("info");
    const messages = events.map((e) => e.message ?? "");
    expect(messages).toContain("Starting");
    expect(messages.some((m) => /^Retrying \(attempt 2 of \d+\): the converter stopped reporting/.test(m)), messages.join("\n")).toBe(true);
    expect(messages).toContain("Starting (attempt 2)");
    expect(events.filter((e) => e.status === "info")).toHaveLength(1);

    const done = await job(id);
    expect(done).toMatchObject({ status: "succeeded", progress: 100, attempts: 2 });
    const flist = await fetch(`${stack.hubUrl}/${USER}/slow.flist`);
    expect(flist.status).toBe(200);
    const listing = findView(await readFlist(Buffer.from(await flist.arrayBuffer())));
    expect(listing.content.find((e) => e.path === "/zeros.bin")?.size).toBe(FILE_BYTES);
    const history = (await (await fetch(`${stack.hubUrl}/api/flist/${USER}/slow/history`)).json()) as { versions: unknown[] };
    expect(history.versions).toEqual([]);
  });
});

describe("the converter gone for good", () => {
  it("fails the job after the bounded attempts, with the last reason (503), nothing published", async () => {
    await stack.stopConverter("SIGKILL");
    try {
      const res = await fetch(`${stack.hubUrl}/api/flist/me/upload/orphan.tar.gz`, {
        method: "PUT",
        headers: await stack.auth(USER),
        body: new Uint8Array(fs.readFileSync(fixture("tree-overlay.tar.gz"))),
      });
      const body = (await res.json()) as { status: string; message: string };
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(body.status).toBe("error");
      expect(body.message).toMatch(/^gave up after 3 attempts: converter unreachable/);
      expect((await fetch(`${stack.hubUrl}/${USER}/orphan.flist`, { method: "HEAD" })).status).toBe(404);
    } finally {
      await stack.startConverter();
    }
  });
});

