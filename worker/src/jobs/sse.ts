/**
 * Server-sent events of a job, read from its durable event log (DESIGN.md §3): any number of listeners, each
 * replaying from the start (or from `Last-Event-ID`), the stream ending after the job's final `info`/`error`
 * event. Listeners poll D1; a listener is also a reader, so it re-dispatches a job whose lease expired.
 */
import type { Env } from "../env";
import { pythonJson } from "../http/python-json";
import { readJob, sleep } from "./read";
import { eventsAfter, isTerminal, type JobRow } from "./store";

export interface StreamOptions {
  /** `/listen` (the original): `data:` lines only, Python JSON. `/api/jobs/<id>/events`: plus `id:` and pings. */
  style: "listen" | "events";
  /** Replay events after this sequence number (0 = from the start). */
  afterSeq: number;
  /** Poll interval in ms while nothing happens. */
  pollMs?: number;
}

const PING_EVERY_MS = 15_000;

function isFinal(data: unknown): boolean {
  const status = (data as { status?: unknown } | null)?.status;
  return status === "info" || status === "error";
}

/** The final event of a finished job, for the (crash-window) case where the log does not hold it. */
function finalEventOf(job: JobRow): unknown {
  if (job.status === "failed") return { status: "error", message: job.message };
  return { status: "info", info: { filename: job.name, file: job.name } };
}

export function jobEventStream(env: Env, jobId: string, options: StreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const pollMs = options.pollMs ?? 500;
  let last = options.afterSeq;
  let idleSince = Date.now();
  let done = false;

  const frame = (seq: number, data: unknown): Uint8Array =>
    encoder.encode(
      options.style === "listen" ? `data: ${pythonJson(data)}\n\n` : `id: ${seq}\ndata: ${JSON.stringify(data)}\n\n`,
    );

  /** Enqueues new events; true when the final one was among them. */
  async function flush(controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    const events = await eventsAfter(env.DB, jobId, last);
    for (const event of events) {
      const data = JSON.parse(event.data) as unknown;
      controller.enqueue(frame(event.seq, data));
      last = event.seq;
      if (isFinal(data)) return true;
    }
    if (events.length) idleSince = Date.now();
    return false;
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Each pull delivers at least one frame (an event or a ping) or ends the stream.
      for (;;) {
        if (done) return;
        const sent = last;
        if (await flush(controller)) {
          done = true;
          controller.close();
          return;
        }
        if (last !== sent) return;
        const job = await readJob(env, jobId);
        if (!job || isTerminal(job.status)) {
          // The final event commits with the status: read once more, then end (synthesising it if absent).
          if (!(await flush(controller)) && job) controller.enqueue(frame(last + 1, finalEventOf(job)));
          done = true;
          controller.close();
          return;
        }
        if (options.style === "events" && Date.now() - idleSince >= PING_EVERY_MS) {
          idleSince = Date.now();
          controller.enqueue(encoder.encode(": ping\n\n"));
          return;
        }
        await sleep(pollMs);
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
