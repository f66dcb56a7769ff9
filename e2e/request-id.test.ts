/**
 * One request id across the Worker → converter hop and back (docs/operations.md "Logs"), on the real local stack:
 * a job started through the Worker with an `x-request-id` has its lines in both services under that id — the
 * Worker's "job created" and "job dispatched", the converter's "started" and "succeeded", and the Worker's lines
 * of the converter's reports (`/internal/…`) — and the answer carries the id back.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLogLine, type LogLine } from "../protocol/logging.ts";
import { fixture } from "./support/flists.ts";
import { type Stack, startStack } from "./support/stack.ts";

const REQUEST_ID = "e2e-hop-request-0001";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** The JSON log lines kept by the stack, with the service prefix they came under. */
function logLines(): (LogLine & { from: string })[] {
  return stack.logs().split("\n").flatMap((text) => {
    const from = /^\[([a-z0-9 -]+)\]/.exec(text)?.[1] ?? "";
    const start = text.indexOf("{");
    const line = start < 0 ? undefined : parseLogLine(text.slice(start));
    return line ? [{ ...line, from }] : [];
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${stack.logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the request id of a job", () => {
  it("is on the job's lines in the Worker and in the converter, and on the converter's reports", async () => {
    const form = new FormData();
    form.append("file", new File([fs.readFileSync(fixture("tree-overlay.tar.gz"))], "hop.tar.gz"));
    const res = await fetch(`${stack.hubUrl}/api/flist/me/upload`, {
      method: "POST",
      headers: { ...(await stack.auth("hop-user")), "x-request-id": REQUEST_ID },
      body: form,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(REQUEST_ID);

    const converterDone = () => logLines().some((l) => l.from === "converter" && l.request_id === REQUEST_ID && l.msg.startsWith("succeeded"));
    await until("the converter's last line of the job", converterDone);
    const lines = logLines().filter((l) => l.request_id === REQUEST_ID);
    const jobId = lines.find((l) => l.from === "converter" && l.job_id)?.job_id;
    expect(jobId, stack.logs()).toMatch(/^[0-9a-f-]{36}$/);

    const worker = lines.filter((l) => l.from.startsWith("worker") && l.service === "worker");
    const converter = lines.filter((l) => l.from === "converter" && l.service === "converter");
    expect(worker.filter((l) => l.job_id === jobId).map((l) => l.msg)).toEqual(expect.arrayContaining(["job created", "job dispatched"]));
    expect(converter.filter((l) => l.job_id === jobId).map((l) => l.msg)).toEqual(expect.arrayContaining(["started", expect.stringMatching(/^succeeded in /)]));
    // The dispatch as the converter answered it.
    expect(converter.some((l) => l.msg === "request answered" && l.method === "POST" && l.route === "/jobs" && l.status === 202)).toBe(true);
    // The converter's calls back: the Worker logged them under the job's request id, not ids of their own.
    const reports = worker.filter((l) => l.msg === "request answered" && typeof l.route === "string" && l.route.startsWith("/internal/"));
    expect(reports.map((l) => l.route)).toEqual(expect.arrayContaining(["/internal/jobs/:id/input", "/internal/publish/:repo/:name"]));
    // The upload itself.
    expect(worker.some((l) => l.msg === "request answered" && l.method === "POST" && l.status === 200 && l.path === "/api/flist/me/upload")).toBe(true);
  });
});
