/**
 * Progress events of one job attempt, sent to the Worker in order (hub-api.md §7.6 shapes).
 *
 * - At most one call in flight; updates arriving meanwhile are coalesced to the latest, so a fast job never
 *   queues hundreds of calls and the Worker sees progress in order.
 * - Heartbeat: when nothing was sent for HEARTBEAT_MS, an event call without an event is sent. Event calls renew
 *   the job's lease (docs/jobs-protocol.md), and a long step without a percentage change (a huge file, writing
 *   a big flist) must not let the lease expire while this converter is alive.
 * - A 409 answer means the attempt is stale or the job ended: `onStale` is called once (the job aborts).
 * - A failed call is logged and dropped: progress is advisory, the job goes on.
 */
import type { HubClient } from "./hub.ts";
import { StaleJobError } from "./hub.ts";

export const HEARTBEAT_MS = 20_000;

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

  constructor(
    private readonly hub: HubClient,
    private readonly jobId: string,
    private readonly attempt: number,
    private readonly onStale: () => void,
    private readonly log: (line: string) => void,
    heartbeatMs = HEARTBEAT_MS,
  ) {
    this.timer = setInterval(() => {
      if (!this.sending && Date.now() - this.lastSentAt >= heartbeatMs) this.send(undefined);
    }, Math.max(10, Math.min(heartbeatMs, 1000)));
    this.timer.unref();
  }

  update(message: string, progress: number): void {
    this.latest = { status: "update", message, progress: Math.max(0, Math.min(100, Math.floor(progress))) };
    this.pending = true;
    if (!this.sending) this.kick();
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
        () => {
          this.lastSentAt = Date.now();
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
