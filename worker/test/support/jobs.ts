/**
 * Helpers of the job and upload tests. Inside workerd there is no converter: `stubConverter()` intercepts the
 * Worker's outbound `fetch` to the converter address (`HUB_CONVERTER_URL`: e2e/support/no-converter.ts)
 * only to observe and answer those calls (`POST /jobs`, `/chunks/...`); every other request goes through. The
 * test then plays the converter's side through the Worker's real internal routes (events, publish, fail).
 *
 * The Queue is real in the test pool: a message sent by a publishing route is delivered to the Worker's
 * `queue()` within about a second, so tests wait for the dispatch they expect rather than assuming its timing.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { vi } from "vitest";
import worker from "../../src/index";
import type { JobRow } from "../../src/jobs/store";
import { HUB, asUser, fetchHub, fixtureBytes, internalAuth, publishForm, type FixtureName } from "./hub";

/** host:port of the converter the Worker calls in these tests (worker/vitest.config.ts). */
export const CONVERTER_HOST = new URL(env.HUB_CONVERTER_URL).host;

export interface ConverterCall {
  method: string;
  path: string;
  authorization: string | null;
  contentLength: string | null;
  body: Uint8Array;
  json: any;
  /** The archive came inline with the job (streamed upload); `json` is then the spec of X-Job-Spec. */
  inline: boolean;
  /** The `x-request-id` the call carried (docs/operations.md "Logs"). */
  requestId: string | null;
}

export type ConverterAnswer = (call: ConverterCall) => Response | Promise<Response>;

export const accepted: ConverterAnswer = () => Response.json({ status: "accepted" }, { status: 202 });

export interface ConverterStub {
  calls: ConverterCall[];
  /** Changes how the next calls are answered. */
  answer(fn: ConverterAnswer): void;
  /** `POST /jobs` specs received for `jobId`, in order. */
  dispatches(jobId: string): any[];
  /** Waits until `count` dispatches of `jobId` were received (real Queue delivery or an explicit call). */
  waitForDispatch(jobId: string, count?: number, timeoutMs?: number): Promise<any>;
  restore(): void;
}

export function stubConverter(initial: ConverterAnswer = accepted): ConverterStub {
  const calls: ConverterCall[] = [];
  let current = initial;
  const realFetch = globalThis.fetch.bind(globalThis);
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const url = new URL(request.url);
    if (url.host !== CONVERTER_HOST) return realFetch(request);
    const body = new Uint8Array(await request.arrayBuffer());
    let json: any = null;
    // A streamed upload's job carries its spec in X-Job-Spec (base64url JSON) and the archive as the body.
    const inlineSpec = request.headers.get("X-Job-Spec");
    try {
      json = inlineSpec
        ? JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(inlineSpec.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0))))
        : JSON.parse(new TextDecoder().decode(body));
    } catch {
      json = null;
    }
    const call: ConverterCall = {
      method: request.method,
      path: url.pathname,
      authorization: request.headers.get("Authorization"),
      contentLength: request.headers.get("Content-Length"),
      body,
      json,
      inline: inlineSpec !== null,
      requestId: request.headers.get("x-request-id"),
    };
    calls.push(call);
    return current(call);
  });
  const dispatches = (jobId: string) =>
    calls.filter((c) => c.method === "POST" && c.path === "/jobs" && c.json?.id === jobId).map((c) => c.json);
  return {
    calls,
    answer(fn) {
      current = fn;
    },
    dispatches,
    async waitForDispatch(jobId, count = 1, timeoutMs = 8000) {
      await waitFor(() => dispatches(jobId).length >= count, timeoutMs, `dispatch #${count} of job ${jobId}`);
      return dispatches(jobId)[count - 1];
    },
    restore() {
      spy.mockRestore();
    },
  };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 8000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function jobRow(id: string): Promise<JobRow> {
  const row = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(id).first<JobRow>();
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

/**
 * Makes an unfinished job's lease (or queued grace) expire now, as time passing would. (A finished job's
 * `lease_until` is its end time, which the retention sweep reads: left alone.)
 */
export async function expireLease(id: string): Promise<void> {
  await env.DB.prepare("UPDATE jobs SET lease_until = 0 WHERE id = ?1 AND status IN ('queued', 'running')")
    .bind(id)
    .run();
}

/** Runs the Worker's real `queue()` handler on one message and answers its ack/retry result. */
export async function deliver(jobId: string, messageId = crypto.randomUUID()) {
  const batch = createMessageBatch("zos-hub-jobs", [{ id: messageId, timestamp: new Date(), attempts: 1, body: { jobId } }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

/** Runs the Worker's real `scheduled()` handler (the lease sweep). */
export async function sweep(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  const { waitOnExecutionContext } = await import("cloudflare:test");
  await waitOnExecutionContext(ctx);
}

export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}

/** A gzip'd byte string: the Worker never looks inside archives, the converter does. */
/** A one-member ustar archive holding `text` as `file.txt`: enough for the Worker's sniffing (uploads/file-check.ts). */
export function tarOf(text: string): Uint8Array<ArrayBuffer> {
  const data = new TextEncoder().encode(text);
  const header = new Uint8Array(512);
  const put = (at: number, value: string) => header.set(new TextEncoder().encode(value), at);
  put(0, "file.txt");
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${data.length.toString(8).padStart(11, "0")}\0`);
  put(136, "00000000000\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  const sum = header.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  const padded = Math.ceil(data.length / 512) * 512;
  const tar = new Uint8Array(512 + padded + 1024);
  tar.set(header);
  tar.set(data, 512);
  return tar;
}

/** A gzip'd tar (tarOf): converted by the stub converters only, but a real archive to the Worker's checks. */
export async function fakeArchive(text = "not really a flist source"): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([tarOf(text)]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function uploadForm(bytes: Uint8Array<ArrayBuffer>, filename: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new File([bytes], filename, { type: "application/gzip" }));
  return form;
}

/** `POST /api/flist/me/upload` (or another publishing path) as `user`; `async` adds `?async=1`. */
export async function postUpload(
  user: string,
  path: string,
  body: BodyInit,
  options: { async?: boolean; headers?: Record<string, string>; method?: string } = {},
): Promise<{ status: number; body: any; res: Response }> {
  const url = `/api/flist/me${path}${options.async ? (path.includes("?") ? "&" : "?") + "async=1" : ""}`;
  const res = await fetchHub(url, { method: options.method ?? "POST", headers: await asUser(user, options.headers), body });
  return { status: res.status, body: await res.json(), res };
}

/** Starts an async tar upload and answers the job id. */
export async function startTarJob(user: string, filename = "app.tar.gz", fields: Record<string, string> = {}): Promise<string> {
  const { status, body } = await postUpload(user, "/upload", uploadForm(await fakeArchive(), filename, fields), { async: true });
  if (status !== 202) throw new Error(`upload answered ${status} ${JSON.stringify(body)}`);
  return body.payload.job as string;
}

// ---- the converter's side, through the Worker's real internal routes ------------------------------------

export async function internal(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetchHub(path, {
    method: "POST",
    headers: { ...internalAuth, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export function sendEvent(jobId: string, attempt: number, event?: { message: string; progress: number }) {
  return internal(`/internal/jobs/${jobId}/events`, event ? { attempt, event: { status: "update", ...event } } : { attempt });
}

export function failJob(jobId: string, attempt: number, message: string, status?: number) {
  return internal(`/internal/jobs/${jobId}/fail`, status ? { attempt, message, status } : { attempt, message });
}

export async function publishJob(
  jobId: string,
  attempt: number | undefined,
  repo: string,
  name: string,
  fixture: FixtureName = "main",
): Promise<{ status: number; body: any }> {
  const f = env.TEST_FIXTURES[fixture]!;
  const info = { jobId, attempt, contents: f.find, metadata: f.metadata };
  const res = await fetchHub(`/internal/publish/${encodeURIComponent(repo)}/${encodeURIComponent(name)}`, {
    method: "PUT",
    headers: internalAuth,
    body: publishForm(fixtureBytes(fixture), info),
  });
  return { status: res.status, body: await res.json() };
}

/** Reads a whole SSE response (it ends when the job ends) and answers its frames' `data` values, parsed. */
export async function readEvents(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(HUB + path, { headers }));
  const text = await res.text();
  const frames = text.split("\n\n").filter((f) => f.trim() !== "");
  const data = frames
    .filter((f) => !f.startsWith(":"))
    .map((f) => JSON.parse(f.split("\n").find((l) => l.startsWith("data: "))!.slice(6)));
  return { res, text, frames, data };
}
