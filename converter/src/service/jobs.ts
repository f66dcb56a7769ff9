/**
 * Accepted jobs, run in the background with bounded concurrency (docs/jobs-protocol.md "Job lifecycle").
 *
 * - `submit` answers at once: the Worker's dispatch must not wait for a conversion.
 * - At most `concurrency` jobs convert at a time; up to `queueLimit` more wait (sending heartbeats, so their
 *   leases do not expire while they wait); beyond that `submit` says "busy" (503) and the Worker retries the
 *   queue message later, perhaps on another instance.
 * - Deliveries are at least once: the same (id, attempt) twice is accepted once; a newer attempt of a job this
 *   instance still runs (its lease expired, e.g. a stalled store) replaces the older one, which is aborted
 *   (the Worker would answer it 409 anyway); an older attempt than the one known here is ignored.
 * - A job ends by publishing, or by `fail` with a clear message; a stale attempt (409) or a shutdown stops
 *   quietly: the Worker's lease then decides what happens to the job.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ChunkStore } from "../store/index.ts";
import type { ConverterConfig } from "./config.ts";
import type { JobContext } from "./context.ts";
import { boundMessage, failureMessage, scrub } from "./errors.ts";
import { EventReporter } from "./events.ts";
import { type HubClient, StaleJobError } from "./hub.ts";
import { runDocker } from "./pipelines/docker.ts";
import { runFlist } from "./pipelines/flist.ts";
import { runMerge } from "./pipelines/merge.ts";
import { runTar } from "./pipelines/tar.ts";
import { runLxd } from "./lxd.ts";
import { InlineInputBroken, type InlineInput } from "./inline.ts";
import type { Logger } from "./log.ts";
import type { ConverterMetrics, JobOutcome } from "./metrics.ts";
import { type JobSpec, specSecrets } from "./spec.ts";

class ShutdownError extends Error {
  override name = "ShutdownError";
}

interface Tracked {
  spec: JobSpec;
  /** The job's lines: its job_id, attempt, kind, flist and the request_id of the Worker request that started it. */
  log: Logger;
  /** The Worker client of this job: its calls carry the job's request id. */
  hub: HubClient;
  controller: AbortController;
  state: "queued" | "running";
  /** Created on acceptance: a job waiting for a slot keeps its lease alive with heartbeats. */
  events: EventReporter;
  /** The input sent inline with the job (streamed uploads), else the job reads it from the Worker. */
  input?: InlineInput;
}

export type SubmitResult = "accepted" | "duplicate" | "busy";

export interface JobRunnerOptions {
  config: ConverterConfig;
  hub: HubClient;
  store: () => Promise<ChunkStore>;
  /** Secrets that must never appear in a message sent out or logged. */
  secrets: string[];
  log: Logger;
  /** Heartbeat of progress events (tests shorten it). */
  heartbeatMs?: number;
  /** Counts each job's end and duration; reads the running and queued counts at each scrape. */
  metrics?: ConverterMetrics;
}

export class JobRunner {
  private readonly jobs = new Map<string, Tracked>();
  private readonly waiting: Tracked[] = [];
  private running = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: JobRunnerOptions) {
    options.metrics?.observeRunner(() => ({ running: this.running, queued: this.waiting.length }));
  }

  /** Jobs known to this instance (queued or running). */
  get size(): number {
    return this.jobs.size;
  }

  /** `requestId`: the Worker's request that dispatched the job (protocol/logging.ts), on every line and call of it. */
  submit(spec: JobSpec, requestId: string = crypto.randomUUID()): SubmitResult {
    return this.counted(this.accept(spec, undefined, requestId));
  }

  /**
   * A job whose input comes inline with the request (docs/jobs-protocol.md "Streamed uploads"): accepted only if
   * it can start now, since the Worker's upload waits on this instance reading it; else "busy" and the Worker
   * stages the upload alone and dispatches it later. A job id already known here is refused too.
   */
  submitInline(spec: JobSpec, input: InlineInput, requestId: string = crypto.randomUUID()): SubmitResult {
    if (this.closed || this.jobs.has(spec.id) || this.running >= this.options.config.concurrency || this.waiting.length > 0) return this.counted("busy");
    return this.counted(this.accept(spec, input, requestId));
  }

  private counted(result: SubmitResult): SubmitResult {
    this.options.metrics?.jobSubmitted(result);
    return result;
  }

  private accept(spec: JobSpec, input: InlineInput | undefined, requestId: string): SubmitResult {
    const log = this.options.log.child(
      { job_id: spec.id, attempt: spec.attempt, kind: spec.kind, flist: `${spec.repository}/${spec.name}`, request_id: requestId },
      specSecrets(spec),
    );
    const known = this.jobs.get(spec.id);
    if (known) {
      if (spec.attempt <= known.spec.attempt) return "duplicate";
      log.info(`attempt ${spec.attempt} supersedes attempt ${known.spec.attempt} here`);
      this.cancel(known, new StaleJobError());
    }
    if (this.closed || this.waiting.length >= this.options.config.queueLimit) {
      log.warn("refused: busy (queue full or shutting down)");
      return "busy";
    }
    const controller = new AbortController();
    const hub = this.options.hub.forRequest(requestId);
    const events = new EventReporter(
      hub,
      spec.id,
      spec.attempt,
      () => this.cancel(tracked, new StaleJobError()),
      (line) => log.warn(line),
      this.options.heartbeatMs,
    );
    const tracked: Tracked = { spec, log, hub, controller, state: "queued", events, ...(input ? { input } : {}) };
    log.debug("accepted");
    this.jobs.set(spec.id, tracked);
    this.waiting.push(tracked);
    this.pump();
    // Still waiting for a slot: say so to the Worker now, so the lease is renewed on the lease's own pace.
    if (tracked.state === "queued") events.heartbeat();
    return "accepted";
  }

  /** Stops every job (no `fail` is sent: their leases will expire and they are dispatched again). */
  async close(): Promise<void> {
    this.closed = true;
    for (const tracked of [...this.jobs.values()]) this.cancel(tracked, new ShutdownError("the converter is shutting down"));
    await this.idle();
  }

  /** Resolves when no job is running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancel(tracked: Tracked, reason: Error): void {
    if (tracked.state === "queued") {
      const at = this.waiting.indexOf(tracked);
      if (at >= 0) this.waiting.splice(at, 1);
      tracked.events.close(); // a running job closes its reporter when run() ends
      // run() never comes for it, so its end is said here (a running job says it when run() ends).
      tracked.log.info(`${stopLine(reason) ?? `stopped: ${reason.message}`} (before it started)`);
      this.options.metrics?.jobFinished(tracked.spec.kind, "stopped", undefined);
    }
    if (this.jobs.get(tracked.spec.id) === tracked) this.jobs.delete(tracked.spec.id);
    tracked.controller.abort(reason);
    this.settle();
  }

  private pump(): void {
    while (this.running < this.options.config.concurrency && this.waiting.length > 0) {
      const tracked = this.waiting.shift() as Tracked;
      tracked.state = "running";
      this.running++;
      void this.run(tracked).finally(() => {
        this.running--;
        if (this.jobs.get(tracked.spec.id) === tracked) this.jobs.delete(tracked.spec.id);
        this.pump();
        this.settle();
      });
    }
  }

  private settle(): void {
    if (this.running === 0 && this.waiting.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** The service's secrets plus the spec's own (a docker job's registry credentials). */
  private secretsOf(spec: JobSpec): string[] {
    return [...this.options.secrets, ...specSecrets(spec)];
  }

  private async run(tracked: Tracked): Promise<void> {
    const { spec, controller, events, input, hub } = tracked;
    const { config, store } = this.options;
    const secrets = this.secretsOf(spec);
    const started = performance.now();
    const seconds = () => Math.round(performance.now() - started) / 1000;
    const log = (line: string) => tracked.log.info(line);
    let tmpDir: string | undefined;
    let outcome: JobOutcome = "failed";
    log("started");
    try {
      tmpDir = await mkdtemp(path.join(os.tmpdir(), "zhub-job-"));
      events.update(spec.attempt > 1 ? `Starting (attempt ${spec.attempt})` : "Starting", 0);
      const ctx: JobContext = { config, hub, store, events, signal: controller.signal, tmpDir, log, ...(input ? { input } : {}) };
      if (spec.kind === "tar") await runTar(ctx, spec);
      else if (spec.kind === "flist") await runFlist(ctx, spec);
      else if (spec.kind === "docker") await runDocker(ctx, spec);
      else if (spec.kind === "lxd") await runLxd(ctx, spec);
      else await runMerge(ctx, spec);
      outcome = "succeeded";
      tracked.log.info(`succeeded in ${seconds().toFixed(1)} s`, { outcome, duration_ms: Math.round(seconds() * 1000) });
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      const stopped = stopLine(reason) ?? stopLine(err);
      if (stopped !== undefined) {
        outcome = "stopped";
        tracked.log.info(stopped, { outcome });
        return;
      }
      const { message, status, expected } = failureMessage(err);
      const safe = boundMessage(scrub(message, secrets));
      tracked.log.warn(`failed: ${safe}`, { outcome: "failed", duration_ms: Math.round(seconds() * 1000) });
      if (!expected && err instanceof Error && err.stack) tracked.log.error("unexpected failure", { stack: scrub(err.stack, secrets) });
      await events.flush();
      try {
        await hub.fail(spec.id, spec.attempt, safe, status);
      } catch (failErr) {
        if (!(failErr instanceof StaleJobError)) tracked.log.error(`could not report the failure: ${scrub((failErr as Error).message, secrets)}`);
      }
    } finally {
      input?.abandon();
      events.close();
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
      this.options.metrics?.jobFinished(spec.kind, outcome, (performance.now() - started) / 1000);
    }
  }
}

/** The log line of a job that stops without a `fail` (stale, broken inline input, shutdown); undefined otherwise. */
function stopLine(reason: unknown): string | undefined {
  if (reason instanceof StaleJobError) return "stopped: the Worker says this attempt is stale or the job has ended";
  if (reason instanceof InlineInputBroken) return `stopped: ${reason.message} (the Worker fails the job or dispatches it again from its staged copy)`;
  if (reason instanceof ShutdownError) return "stopped: shutting down (the job will be dispatched again when its lease expires)";
  return undefined;
}
