/**
 * The streamed raw upload converts while it uploads (docs/jobs-protocol.md "Streamed uploads"), on the real local
 * stack: with half the archive sent, the job already reports building progress; once all of it arrived the flist
 * is published and reads back byte for byte. An upload that breaks off publishes nothing and fails its job.
 */
import fs from "node:fs";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findView, readFlist } from "../converter/src/flist/index.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { expected, fixture, flistFiles, readBack, tarballFiles } from "./support/flists.ts";

const USER = "e2e-overlap";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

interface JobState {
  id: string;
  name: string;
  status: string;
  progress: number;
  message: string;
  attempts: number;
}

async function jobOf(name: string): Promise<JobState | undefined> {
  const res = await fetch(`${stack.hubUrl}/api/jobs`, { headers: await stack.auth(USER) });
  const jobs = ((await res.json()) as { payload: { jobs?: JobState[] } | JobState[] }).payload;
  const list = Array.isArray(jobs) ? jobs : (jobs.jobs ?? []);
  return list.find((j) => j.name === name);
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})\n${stack.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A PUT whose body the test writes piece by piece. */
async function openPut(name: string, size: number) {
  const req = http.request(`${stack.hubUrl}/api/flist/me/upload/${name}.tar.gz?async=1`, {
    method: "PUT",
    headers: { ...(await stack.auth(USER)), "content-length": String(size), "content-type": "application/octet-stream" },
  });
  let answered = false;
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => undefined);
  const write = (bytes: Buffer) => new Promise<void>((resolve, reject) => req.write(bytes, (err) => (err ? reject(err) : resolve())));
  return { req, response, write, answered: () => answered };
}

describe("streamed upload overlapping the conversion", () => {
  it("builds while the archive is still uploading, then publishes it whole", async () => {
    const tarball = fixture("tree-main.tar.gz");
    const whole = fs.readFileSync(tarball);
    const put = await openPut("overlap", whole.length);
    const half = Math.floor(whole.length / 2);
    await put.write(whole.subarray(0, half));
    const building = await until("a Building event while half the archive is sent", () => jobOf("overlap.flist"), (j) => j.message.startsWith("Building: "));
    expect(put.answered()).toBe(false);
    expect(building).toMatchObject({ status: "running", attempts: 1 });

    put.req.end(whole.subarray(half));
    const answer = await put.response;
    expect(answer.status, answer.text).toBe(202);
    const done = await until("the job's end", () => jobOf("overlap.flist"), (j) => j.status === "succeeded" || j.status === "failed");
    expect(done, stack.logs().slice(-3000)).toMatchObject({ status: "succeeded", attempts: 1 });

    const res = await fetch(`${stack.hubUrl}/${USER}/overlap.flist`);
    expect(res.status).toBe(200);
    const tree = await readFlist(Buffer.from(await res.arrayBuffer()));
    expect(findView(tree)).toEqual(expected("main", "find.json"));
    const files = flistFiles(tree);
    const store = await stack.store();
    for (const [name, bytes] of await tarballFiles(tarball)) {
      expect((await readBack(store, files.get(name)!)).equals(bytes), name).toBe(true);
    }
  });

  it("an upload that breaks off fails its job and publishes nothing", async () => {
    const whole = fs.readFileSync(fixture("tree-main.tar.gz"));
    const put = await openPut("cut-off", whole.length);
    await put.write(whole.subarray(0, Math.floor(whole.length / 2)));
    await until("the job under way", () => jobOf("cut-off.flist"), (j) => j.status === "running" && j.message.startsWith("Building: "));
    put.req.destroy();

    const ended = await until("the job's end", () => jobOf("cut-off.flist"), (j) => j.status === "failed" || j.status === "succeeded");
    expect(ended.status).toBe("failed");
    expect(ended.message).toMatch(/^upload incomplete: /);
    expect((await fetch(`${stack.hubUrl}/${USER}/cut-off.flist`, { method: "HEAD" })).status).toBe(404);
    // The converter stopped its attempt without failing or publishing anything.
    await until("the converter's quiet stop", async () => stack.logs(), (logs) => /stopped: the inline input broke off/.test(logs));
  });
});
