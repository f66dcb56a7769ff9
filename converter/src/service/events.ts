/**
 * Progress events of one job attempt, sent to the Worker in order (docs/compatibility.md §5.5 shapes).
 *
 * - At most one call in flight; updates arriving meanwhile are coalesced to the latest of their phase, so a fast
 *   job never queues hundreds of calls and the Worker sees progress in order. A phase is the message up to its first
 *   `:` or `[` (`Building: processing item 5 of 9` and `… 6 of 9` are one phase; `Downloading layer 2 / 4 [..]`,
 *   `Building flist: …` and `Image converted` are three): the last update of each phase is kept, so listeners see
 *   every layer of a docker pull and the build that follows even when they pass faster than one call.
 * - Heartbeat: when nothing was sent for a while, an event call without an event is sent. Event calls renew the
 *   job's lease (docs/jobs-protocol.md), and a long step without a percentage change (a huge file, writing a big
 *   flist) must not let the lease expire while this converter is alive. The pause is a third of the lease the
 *   Worker reports (`lease_until` in its answers), at most HEARTBEAT_MS and at least MIN_HEARTBEAT_MS, so a short
 *   lease configured for tests is kept alive too.
 * - A 409 answer means the attempt is stale or the job ended: `onStale` is called once (the job aborts).
 * - A failed call is logged and dropped: progress is advisory, the job goes on.
 */
import type { ProgressEvent } from "../../../protocol/reports.ts";
import type { HubClient } from "./hub.ts";
import { StaleJobError } from "./hub.ts";

export const HEARTBEAT_MS = 20_000;
export const MIN_HEARTBEAT_MS = 500;

/** Waiting phases kept at most (see the coalescing rule above). */
const MAX_QUEUED = 16;

/** `Building: processing item 5 of 9` → `Building`; `Downloading layer 2 / 4 [1.0 MB / 9.0 MB]` → `Downloading layer 2 / 4`. */
function phaseOf(message: string): string {
  const end = message.search(/[:[]/);
  return (end < 0 ? message : message.slice(0, end)).trim();
}

/** One `update` event, as the Worker's events route parses it (protocol/reports.ts). */
export type UpdateEvent = ProgressEvent;

export class EventReporter {
  /** Updates waiting for the call in flight: the last of each phase, in order (at most MAX_QUEUED). */
  private readonly queued: UpdateEvent[] = [];
  private sending: Promise<void> | undefined;
  private lastSentAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private stale = false;
  private warned = false;
  private heartbeatMs: number;

  constructor(
    private readonly hub: HubClient,
    private readonly jobId: string,
    private readonly attempt: number,
    private readonly onStale: () => void,
    private readonly log: (line: string) => void,
    private readonly maxHeartbeatMs = HEARTBEAT_MS,
  ) {
    this.heartbeatMs = maxHeartbeatMs;
    this.timer = setInterval(() => {
      if (!this.sending && Date.now() - this.lastSentAt >= this.heartbeatMs) this.send(undefined);
    }, Math.max(10, Math.min(maxHeartbeatMs, MIN_HEARTBEAT_MS) / 2));
    this.timer.unref();
  }

  /** The pause between heartbeats now (tests, logs). */
  get heartbeatInterval(): number {
    return this.heartbeatMs;
  }

  update(message: string, progress: number): void {
    const event: UpdateEvent = { status: "update", message, progress: Math.max(0, Math.min(100, Math.floor(progress))) };
    const last = this.queued.at(-1);
    if (last && phaseOf(last.message) === phaseOf(message)) this.queued[this.queued.length - 1] = event;
    else {
      this.queued.push(event);
      // An image of many tiny layers must not grow the backlog: the oldest waiting phases are dropped first.
      if (this.queued.length > MAX_QUEUED) this.queued.shift();
    }
    if (!this.sending) this.kick();
  }

  /** Renews the lease now (and learns its length from the answer), unless a call is on its way. */
  heartbeat(): void {
    if (!this.sending) this.send(undefined);
  }

  /** Resolves once every update given so far has been sent (or dropped). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private kick(): void {
    const next = this.queued.shift();
    if (next) this.send(next);
  }

  /** One call (an event, or a heartbeat when `event` is undefined). */
  private send(event: UpdateEvent | undefined): void {
    if (this.stale) return;
    this.sending = this.hub
      .event(this.jobId, this.attempt, event)
      .then(
        ({ leaseUntil }) => {
          this.lastSentAt = Date.now();
          if (leaseUntil !== undefined) {
            const third = (leaseUntil * 1000 - this.lastSentAt) / 3;
            this.heartbeatMs = Math.max(Math.min(MIN_HEARTBEAT_MS, this.maxHeartbeatMs), Math.min(this.maxHeartbeatMs, third));
          }
        },
        (err: unknown) => {
          if (err instanceof StaleJobError) {
            this.stale = true;
            this.onStale();
          } else if (!this.warned) {
            this.warned = true; // once per attempt: a down Worker would otherwise flood the log
            this.log(`progress event not delivered: ${(err as Error).message}`);
          }
        },
      )
      .finally(() => {
        this.sending = undefined;
        if (this.queued.length > 0) this.kick();
      });
  }
}
