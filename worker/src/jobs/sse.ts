/**
 * Server-sent events of a job, read from its durable event log (docs/compatibility.md §6.16): any number of listeners, each
 * replaying from the start (or from `Last-Event-ID`), the stream ending after the job's final `info`/`error`
 * event. Listeners poll D1 — one batched round trip (new events + the job row) per poll, the interval growing
 * while nothing happens, so a long job costs few queries. A listener is also a reader: it re-dispatches a job
 * whose lease expired.
 */
import type { Env } from "../env";
import { errorText, log } from "../observe/log";
import { pythonJson } from "../http/python-json";
import { dispatchJob, isDispatchable } from "./dispatch";
import { sleep } from "./read";
import { JOB_SCAN_SQL, isTerminal, type JobEventRow, type JobRow } from "./store";

export interface StreamOptions {
  /** `/listen` (the original): `data:` lines only, Python JSON. `/api/jobs/<id>/events`: plus `id:` and pings. */
  style: "listen" | "events";
  /** Replay events after this sequence number (0 = from the start). */
  afterSeq: number;
  /**
   * Shortest and longest poll intervals in ms (defaults 250 and 2000). After five minutes the longest becomes
   * 5 s: a `/listen` stream stays open until its job ends, and a long job should cost it few D1 queries.
   */
  pollMs?: { min: number; max: number };
  /**
   * `events` style only: close the stream after this many ms, with a `retry:` hint, so the client reconnects
   * with Last-Event-ID (bounds what one request holds open). Default 10 minutes.
   */
  maxLifetimeMs?: number;
}

const PING_EVERY_MS = 15_000;
const DEFAULT_LIFETIME_MS = 10 * 60_000;
const SLOW_AFTER_MS = 5 * 60_000;

function isFinal(data: unknown): boolean {
  const status = (data as { status?: unknown } | null)?.status;
  return status === "info" || status === "error";
}

/** The final event of a finished job, for the (crash-window) case where the log does not hold it. */
function finalEventOf(job: JobRow): unknown {
  if (job.status === "failed") return { status: "error", message: job.message };
  return { status: "info", info: { filename: job.name, file: job.name } };
}

interface Polled {
  events: JobEventRow[];
  job: JobRow | null;
}

/** New events after `afterSeq` and the job row, in one D1 round trip. */
async function poll(env: Env, jobId: string, afterSeq: number): Promise<Polled> {
  const [events, job] = await env.DB.batch([
    env.DB.prepare(JOB_SCAN_SQL.events).bind(jobId, afterSeq),
    env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(jobId),
  ]);
  return {
    events: (events?.results ?? []) as JobEventRow[],
    job: ((job?.results ?? [])[0] as JobRow | undefined) ?? null,
  };
}

export function jobEventStream(env: Env, jobId: string, options: StreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const { min, max } = options.pollMs ?? { min: 250, max: 2000 };
  const deadline = Date.now() + (options.maxLifetimeMs ?? DEFAULT_LIFETIME_MS);
  const openedAt = Date.now();
  let interval = min;
  let last = options.afterSeq;
  let lastFrameAt = Date.now();
  let done = false;

  const frame = (seq: number, data: unknown): Uint8Array =>
    encoder.encode(
      options.style === "listen" ? `data: ${pythonJson(data)}\n\n` : `id: ${seq}\ndata: ${JSON.stringify(data)}\n\n`,
    );

  function end(controller: ReadableStreamDefaultController<Uint8Array>): void {
    done = true;
    controller.close();
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Each pull delivers at least one frame (events, a ping) or ends the stream.
      while (!done) {
        const { events, job } = await poll(env, jobId, last);
        for (const event of events) {
          const data = JSON.parse(event.data) as unknown;
          controller.enqueue(frame(event.seq, data));
          last = event.seq;
          if (isFinal(data)) return end(controller);
        }
        if (!job || isTerminal(job.status)) {
          // The final event commits with the status, so it was in `events` unless the log lost it: synthesise it.
          if (job) controller.enqueue(frame(last + 1, finalEventOf(job)));
          return end(controller);
        }
        if (events.length > 0) {
          interval = min;
          lastFrameAt = Date.now();
          return;
        }
        if (isDispatchable(job, "lease")) {
          await dispatchJob(env, jobId, "lease").catch((err: unknown) => {
            log.error("lazy dispatch failed", { job_id: jobId, error: errorText(err) });
          });
          continue;
        }
        if (options.style === "events") {
          if (Date.now() >= deadline) {
            controller.enqueue(encoder.encode("retry: 1000\n\n"));
            return end(controller);
          }
          if (Date.now() - lastFrameAt >= PING_EVERY_MS) {
            lastFrameAt = Date.now();
            controller.enqueue(encoder.encode(": ping\n\n"));
            return;
          }
        }
        await sleep(interval);
        const ceiling = Date.now() - openedAt > SLOW_AFTER_MS ? Math.max(max, 5000) : max;
        interval = Math.min(ceiling, Math.round(interval * 1.5));
      }
    },
    cancel() {
      done = true;
    },
  });
}

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};
