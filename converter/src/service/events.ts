/**
 * Progress events of one job attempt, sent to the Worker in order (hub-api.md §7.6 shapes).
 *
 * - At most one call in flight; updates arriving meanwhile are coalesced to the latest, so a fast job never
 *   queues hundreds of calls and the Worker sees progress in order.
 * - Heartbeat: when nothing was sent for a while, an event call without an event is sent. Event calls renew the
 *   job's lease (docs/jobs-protocol.md), and a long step without a percentage change (a huge file, writing a big
 *   flist) must not let the lease expire while this converter is alive. The pause is a third of the lease the
 *   Worker reports (`lease_until` in its answers), at most HEARTBEAT_MS and at least MIN_HEARTBEAT_MS, so a short
 *   lease configured for tests is kept alive too.
 * - A 409 answer means the attempt is stale or the job ended: `onStale` is called once (the job aborts).
 * - A failed call is logged and dropped: progress is advisory, the job goes on.
 */
import type { HubClient } from "./hub.ts";
import { StaleJobError } from "./hub.ts";

export const HEARTBEAT_MS = 20_000;
export const MIN_HEARTBEAT_MS = 500;

export interface UpdateEvent {
  status: "update";
  message: string;
  progress: number;
}

export class EventReporter {
  private latest: UpdateEvent | undefined;
  private pending = false;
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
    this.latest = { status: "update", message, progress: Math.max(0, Math.min(100, Math.floor(progress))) };
    this.pending = true;
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
    if (!this.latest) return;
    this.pending = false;
    this.send({ ...this.latest });
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
        if (this.pending) this.kick();
      });
  }
}
