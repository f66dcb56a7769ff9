/**
 * The converter's calls to the Worker (docs/jobs-protocol.md "Worker internal endpoints"): the staged input,
 * progress events, publish, fail, and the public download route for merge sources.
 *
 * Every internal call carries the job's `attempt`; a 409 answer means this attempt is stale or the job is over,
 * which surfaces as a {@link StaleJobError} so the job stops quietly. Transient failures (network, 5xx, 429)
 * are retried with a short backoff where the call is idempotent (publish is idempotent per job id).
 * Downloads (input, blobs, flists) go through node:http (http-get.ts says why); the small JSON calls use fetch.
 */
import fs from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { EventsAnswer, EventsBody, FailBody, ProgressEvent } from "../../../protocol/reports.ts";
import type { PublishResult as ContractPublishResult, PublishInfoInput } from "../../../protocol/publish.ts";
import { httpGet } from "./http-get.ts";
import { REQUEST_ID_HEADER } from "../../../protocol/logging.ts";

export class StaleJobError extends Error {
  override name = "StaleJobError";
  constructor() {
    super("the Worker answered 409: this attempt is stale or the job has ended");
  }
}

/** The Worker refused a call (4xx other than 409) or kept failing (5xx/network): the message says which. */
export class HubError extends Error {
  override name = "HubError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface Download {
  body: Readable;
  /** Content-Length when the Worker sent one. */
  size: number | undefined;
}

/** What a pipeline hands over besides the file: the `info` part without the job's id and attempt. */
export type PublishInfo = Pick<PublishInfoInput, "contents" | "metadata" | "entries">;

/** The Worker's answer, as far as it came (every field is only shown in a log line). */
export type PublishResult = Partial<ContractPublishResult>;

const RETRY_DELAYS_MS = [250, 1000, 3000, 6000];

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

const retryable = (status: number) => status >= 500 || status === 429;

/** The `message` of the Worker's JSON error envelope, else the start of the body. */
async function errorText(res: Response): Promise<string> {
  return messageOf(await res.text().catch(() => ""), res.statusText);
}

function messageOf(text: string, fallback: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || fallback;
}

/** At most `max` bytes of an error answer's body, as text (the rest is dropped with the connection). */
async function readText(res: IncomingMessage, max = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // what arrived is enough for a message
  } finally {
    res.destroy();
  }
  return Buffer.concat(parts).toString("utf8");
}

/** undici says "fetch failed" and puts the useful part (ECONNREFUSED, …) in `cause`; node:http errors carry `code`. */
function networkReason(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.code ?? e.message;
}

const segment = (s: string) => encodeURIComponent(s);

export class HubClient {
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
    private readonly requestId?: string,
  ) {}

  /** The same client, its calls carrying `requestId` (a job's: the Worker logs its reports under it). */
  forRequest(requestId: string): HubClient {
    return new HubClient(this.baseUrl, this.secret, requestId);
  }

  /** The request id alone: the public downloads carry no secret. */
  private get traced(): Record<string, string> {
    return this.requestId ? { [REQUEST_ID_HEADER]: this.requestId } : {};
  }

  private get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.secret}`, ...this.traced };
  }

  /**
   * One call, retried on transient failures while `retries` allows. `build` makes a fresh request body each time
   * (a FormData over a file cannot be sent twice). Answers the successful Response; throws StaleJobError on 409.
   */
  private async call(what: string, url: string, build: () => RequestInit, signal?: AbortSignal, retries = RETRY_DELAYS_MS.length): Promise<Response> {
    let last = "";
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { ...build(), ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        last = `${what}: cannot reach the hub at ${this.baseUrl} (${networkReason(err)})`;
        if (attempt >= retries) throw new HubError(last);
        await sleep(RETRY_DELAYS_MS[attempt] ?? 6000, signal);
        continue;
      }
      if (res.ok) return res;
      if (res.status === 409) {
        await res.body?.cancel().catch(() => {});
        throw new StaleJobError();
      }
      last = `${what}: the hub answered ${res.status}: ${await errorText(res)}`;
      if (!retryable(res.status) || attempt >= retries) throw new HubError(last, res.status);
      await sleep(RETRY_DELAYS_MS[attempt] ?? 6000, signal);
    }
  }

  /**
   * A streamed GET, retried like `call` until its headers arrive; the body is not retried (a consumer may already
   * have used part of it). Throws StaleJobError on 409.
   */
  private async get(what: string, url: string, headers: Record<string, string>, signal?: AbortSignal, retries = 2): Promise<Download> {
    let last = "";
    for (let attempt = 0; ; attempt++) {
      let res: IncomingMessage;
      try {
        res = await httpGet(url, { headers, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        last = `${what}: cannot reach the hub at ${this.baseUrl} (${networkReason(err)})`;
        if (attempt >= retries) throw new HubError(last);
        await sleep(RETRY_DELAYS_MS[attempt] ?? 6000, signal);
        continue;
      }
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        const length = res.headers["content-length"];
        return { body: res, size: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined };
      }
      const text = await readText(res);
      if (status === 409) throw new StaleJobError();
      last = `${what}: the hub answered ${status}: ${messageOf(text, res.statusMessage ?? "")}`;
      if (!retryable(status) || attempt >= retries) throw new HubError(last, status);
      await sleep(RETRY_DELAYS_MS[attempt] ?? 6000, signal);
    }
  }

  /** `GET /internal/jobs/<id>/input`: the staged upload, streamed. */
  async input(jobId: string, signal?: AbortSignal): Promise<Download> {
    return this.get("reading the job input", `${this.baseUrl}/internal/jobs/${segment(jobId)}/input`, this.auth, signal);
  }

  /** `GET /api/blobs/<sha256>.flist`: a published flist by content address (merge sources). */
  async blob(sha256: string, signal?: AbortSignal): Promise<Download> {
    return this.get(`downloading blob ${sha256}`, `${this.baseUrl}/api/blobs/${segment(sha256)}.flist`, this.traced, signal);
  }

  /** `GET /<repo>/<name>`: a published flist (merge sources), through the public download route. */
  async download(repository: string, name: string, signal?: AbortSignal): Promise<Download> {
    return this.get(`downloading ${repository}/${name}`, `${this.baseUrl}/${segment(repository)}/${segment(name)}`, this.traced, signal);
  }

  /**
   * `POST /internal/jobs/<id>/events`; without `event` it is a heartbeat (lease renewed, nothing logged).
   * One try: a lost progress event is not worth delaying the job.
   */
  async event(jobId: string, attempt: number, event: ProgressEvent | undefined, signal?: AbortSignal): Promise<{ leaseUntil?: number }> {
    const report: EventsBody = event ? { attempt, event } : { attempt };
    const res = await this.call(
      "sending progress",
      `${this.baseUrl}/internal/jobs/${segment(jobId)}/events`,
      () => ({ method: "POST", headers: { ...this.auth, "content-type": "application/json" }, body: JSON.stringify(report) }),
      signal,
      0,
    );
    // The Worker answers the renewed lease's end (unix seconds): heartbeats are paced on it.
    const body = (await res.json().catch(() => ({}))) as { payload?: Partial<Record<keyof EventsAnswer, unknown>> };
    const leaseUntil = body.payload?.lease_until;
    return typeof leaseUntil === "number" && Number.isFinite(leaseUntil) ? { leaseUntil } : {};
  }

  /** `PUT /internal/publish/<repo>/<name>` with the flist file and its info (jobId + attempt make it idempotent). */
  async publish(jobId: string, attempt: number, repository: string, name: string, flistPath: string, info: PublishInfo, signal?: AbortSignal): Promise<PublishResult> {
    const infoBody: PublishInfoInput = { jobId, attempt, contents: info.contents, metadata: info.metadata, entries: info.entries };
    const infoJson = JSON.stringify(infoBody);
    const blob = await fs.openAsBlob(flistPath, { type: "application/gzip" });
    const res = await this.call(
      "publishing",
      `${this.baseUrl}/internal/publish/${segment(repository)}/${segment(name)}`,
      () => {
        const form = new FormData();
        form.append("flist", blob, name);
        form.append("info", infoJson);
        return { method: "PUT", headers: this.auth, body: form };
      },
      signal,
    );
    const body = (await res.json().catch(() => ({}))) as { payload?: PublishResult };
    return body.payload ?? {};
  }

  /**
   * `POST /internal/jobs/<id>/fail`; `status` is what a request waiting on the job answers (the Worker's default,
   * 422, when absent). Retried, since a lost failure would only surface at lease expiry.
   */
  async fail(jobId: string, attempt: number, message: string, status?: number): Promise<void> {
    const res = await this.call(
      "reporting the failure",
      `${this.baseUrl}/internal/jobs/${segment(jobId)}/fail`,
      () => {
        const report: FailBody = status ? { attempt, message, status } : { attempt, message };
        return { method: "POST", headers: { ...this.auth, "content-type": "application/json" }, body: JSON.stringify(report) };
      },
    );
    await res.body?.cancel().catch(() => {});
  }
}

