/**
 * The converter's `GET /metrics` (docs/operations.md "Converter metrics") in the Prometheus text exposition
 * format 0.0.4, hand-written: a few counters, gauges and histograms with low-cardinality labels only (job kind,
 * outcome, store operation), never a job id, user, repository or file name.
 */
import type { ChunkStore } from "../store/index.ts";

type Labels = Record<string, string>;

const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`)
    .join(",");

const withLabels = (name: string, key: string): string => (key ? `${name}{${key}}` : name);

/** Prometheus renders floats its own way: integers plainly, infinities as `+Inf`. */
const num = (v: number): string => (v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : Number.isNaN(v) ? "NaN" : String(v));

interface Metric {
  render(): string[];
}

class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(private readonly name: string, private readonly help: string, initial: Labels[] = []) {
    for (const l of initial) this.values.set(labelKey(l), 0);
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, v] of this.values) out.push(`${withLabels(this.name, key)} ${num(v)}`);
    return out;
  }
}

/** A gauge read when scraped (the job runner's own counts: nothing to keep in step). */
class Gauge implements Metric {
  constructor(private readonly name: string, private readonly help: string, private readonly read: () => [Labels, number][]) {}
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [labels, v] of this.read()) out.push(`${withLabels(this.name, labelKey(labels))} ${num(v)}`);
    return out;
  }
}

class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(private readonly name: string, private readonly help: string, private readonly buckets: readonly number[]) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const sep = key ? `${key},` : "";
      this.buckets.forEach((le, i) => out.push(`${this.name}_bucket{${sep}le="${num(le)}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${withLabels(`${this.name}_sum`, key)} ${num(s.sum)}`);
      out.push(`${withLabels(`${this.name}_count`, key)} ${s.count}`);
    }
    return out;
  }
}

export type JobOutcome = "succeeded" | "failed" | "stopped";
const STORE_OPS = ["open", "exists", "put", "get"] as const;
export type StoreOp = (typeof STORE_OPS)[number];

/** What the job runner reports at scrape time. */
export interface RunnerCounts {
  running: number;
  queued: number;
}

export type SubmitOutcome = "accepted" | "duplicate" | "busy";

export class ConverterMetrics {
  private readonly submitted = new Counter(
    "zhub_converter_jobs_submitted_total",
    "POST /jobs by result: accepted, duplicate (an attempt already known here) or busy (refused with 503: the queue is full, or no free slot for an inline job).",
    (["accepted", "duplicate", "busy"] as const).map((result) => ({ result })),
  );
  private readonly finished = new Counter("zhub_converter_jobs_finished_total", "Jobs ended on this instance, by kind and outcome (stopped: stale attempt, broken inline input or shutdown, no fail sent).");
  private readonly duration = new Histogram(
    "zhub_converter_job_duration_seconds",
    "Time from a job's start (a slot taken) to its end, by kind.",
    [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
  );
  private readonly chunks = new Counter(
    "zhub_converter_chunks_written_total",
    "Chunks written to the chunk store, by jobs and PUT /chunks (chunks it already held are not written again).",
    [{}],
  );
  private readonly bytes = new Counter("zhub_converter_chunk_bytes_written_total", "Bytes of the chunks written to the chunk store (as stored: compressed and encrypted).", [{}]);
  private readonly storeLatency = new Histogram(
    "zhub_converter_store_request_duration_seconds",
    "Chunk store calls, by operation (exists is one batch of keys; open connects to the store).",
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  private readonly storeErrors = new Counter(
    "zhub_converter_store_errors_total",
    "Chunk store calls that failed (unreachable, refused, timed out), by operation (open: connecting to the store).",
    STORE_OPS.map((op) => ({ op })),
  );
  private counts: () => RunnerCounts = () => ({ running: 0, queued: 0 });
  private readonly all: Metric[];

  constructor() {
    const jobs = new Gauge("zhub_converter_jobs", "Jobs on this instance by state: running (converting) or queued (accepted, waiting for a slot).", () => {
      const c = this.counts();
      return [
        [{ state: "running" }, c.running],
        [{ state: "queued" }, c.queued],
      ];
    });
    const depth = new Gauge("zhub_converter_queue_depth", "Accepted jobs waiting for a slot (beyond CONVERTER_QUEUE_LIMIT POST /jobs answers 503).", () => [[{}, this.counts().queued]]);
    this.all = [jobs, depth, this.submitted, this.finished, this.duration, this.chunks, this.bytes, this.storeLatency, this.storeErrors];
  }

  /** The job runner's live counts, read at each scrape. */
  observeRunner(counts: () => RunnerCounts): void {
    this.counts = counts;
  }

  jobSubmitted(result: SubmitOutcome): void {
    this.submitted.inc({ result });
  }

  /** `seconds` is undefined for a job stopped before it started (it had no duration). */
  jobFinished(kind: string, outcome: JobOutcome, seconds: number | undefined): void {
    this.finished.inc({ kind, outcome });
    if (seconds !== undefined) this.duration.observe({ kind }, seconds);
  }

  storeCall(op: StoreOp, seconds: number, ok: boolean): void {
    this.storeLatency.observe({ op }, seconds);
    if (!ok) this.storeErrors.inc({ op });
  }

  chunkWritten(bytes: number): void {
    this.chunks.inc();
    this.bytes.inc({}, bytes);
  }

  render(): string {
    return `${this.all.flatMap((m) => m.render()).join("\n")}\n`;
  }
}

/** `call` timed and counted as one store call of `op` (its failure is rethrown). */
export async function timedStoreCall<T>(metrics: ConverterMetrics, op: StoreOp, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await call();
    metrics.storeCall(op, (performance.now() - started) / 1000, true);
    return result;
  } catch (err) {
    metrics.storeCall(op, (performance.now() - started) / 1000, false);
    throw err;
  }
}

/** The store with each call timed and counted; `description` and `close` pass through. */
export function meteredStore(store: ChunkStore, metrics: ConverterMetrics): ChunkStore {
  const timed = <T>(op: StoreOp, call: () => Promise<T>): Promise<T> => timedStoreCall(metrics, op, call);
  return {
    description: store.description,
    exists: (keys) => timed("exists", () => store.exists(keys)),
    put: (key, value) =>
      timed("put", async () => {
        await store.put(key, value);
        metrics.chunkWritten(value.byteLength);
      }),
    get: (key) => timed("get", () => store.get(key)),
    close: () => store.close(),
  };
}
