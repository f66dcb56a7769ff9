/**
 * `GET /metrics` of a started service: real tar jobs (one published, one failed) through the recording hub
 * peer, then the Prometheus text parsed and the counters checked.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConverterMetrics } from "../src/service/metrics.ts";
import { FIXTURES, type Rig, SECRET, jobId, makeTarGz, startRig } from "./service-support.ts";

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format's samples; TYPE lines checked against the sample names. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.trimEnd().split("\n")) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `sample line ${JSON.stringify(line)}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g)) labels[l[1]!] = l[2]!;
    const value = m![3] === "+Inf" ? Infinity : Number(m![3]);
    expect(Number.isNaN(value)).toBe(false);
    const family = m![1]!.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(m![1]!) || types.get(family) === "histogram", `TYPE of ${m![1]}`).toBe(true);
    samples.push({ name: m![1]!, labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)
    ?.value;
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${rig.converter.url}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parse(await res.text()).samples;
}

describe("GET /metrics", () => {
  it("needs the internal secret", async () => {
    const res = await fetch(`${rig.converter.url}/metrics`);
    expect([res.status, await res.json()]).toEqual([401, { status: "error", message: "unauthorized" }]);
    expect((await fetch(`${rig.converter.url}/metrics`, { method: "POST", headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(405);
  });

  it("counts jobs by kind and outcome, their duration, the chunks written and the store calls", async () => {
    const before = await scrape();
    expect(value(before, "zhub_converter_jobs", { state: "running" })).toBe(0);
    expect(value(before, "zhub_converter_jobs", { state: "queued" })).toBe(0);
    expect(value(before, "zhub_converter_queue_depth")).toBe(0);
    expect(value(before, "zhub_converter_chunks_written_total")).toBe(0);
    expect(value(before, "zhub_converter_store_errors_total", { op: "put" })).toBe(0);
    for (const result of ["accepted", "duplicate", "busy"]) expect(value(before, "zhub_converter_jobs_submitted_total", { result })).toBe(0);

    const good = { id: jobId("metrics-ok"), attempt: 1, kind: "tar", repository: "alice", name: "m.flist", metadata: {} };
    rig.peer.inputs.set(good.id, path.join(FIXTURES, "tree-main.tar.gz"));
    const bad = { ...good, id: jobId("metrics-bad"), name: "bad.flist" };
    rig.peer.inputs.set(bad.id, await makeTarGz(path.join(rig.work, "evil.tar.gz"), [{ name: "../escape.txt", body: "evil" }]));
    expect((await rig.submit(good)).status).toBe(202);
    expect((await rig.submit(bad)).status).toBe(202);
    // The same attempt again: accepted once (a duplicate delivery).
    expect((await rig.submit(good)).status).toBe(202);
    expect((await rig.peer.outcome(good.id)).kind).toBe("publish");
    expect((await rig.peer.outcome(bad.id)).kind).toBe("fail");
    await rig.converter.runner.idle();

    const after = await scrape();
    expect(value(after, "zhub_converter_jobs_finished_total", { kind: "tar", outcome: "succeeded" })).toBe(1);
    expect(value(after, "zhub_converter_jobs_finished_total", { kind: "tar", outcome: "failed" })).toBe(1);
    expect(value(after, "zhub_converter_job_duration_seconds_count", { kind: "tar" })).toBe(2);
    expect(value(after, "zhub_converter_job_duration_seconds_bucket", { kind: "tar", le: "+Inf" })).toBe(2);
    expect(value(after, "zhub_converter_job_duration_seconds_sum", { kind: "tar" })).toBeGreaterThan(0);

    // Every chunk the published job wrote is a file of the store: the counters say as many, and their bytes.
    const chunkFiles: string[] = [];
    for (const sub of fs.readdirSync(rig.storeDir)) for (const f of fs.readdirSync(path.join(rig.storeDir, sub))) chunkFiles.push(path.join(rig.storeDir, sub, f));
    const chunks = value(after, "zhub_converter_chunks_written_total")!;
    expect(chunks).toBeGreaterThan(0);
    expect(chunks).toBe(chunkFiles.length);
    expect(value(after, "zhub_converter_chunk_bytes_written_total")).toBe(chunkFiles.reduce((n, f) => n + fs.statSync(f).size, 0));
    expect(value(after, "zhub_converter_store_request_duration_seconds_count", { op: "put" })).toBe(chunks);
    expect(value(after, "zhub_converter_store_request_duration_seconds_count", { op: "exists" })).toBeGreaterThan(0);
    expect(value(after, "zhub_converter_store_request_duration_seconds_count", { op: "open" })).toBe(1);
    expect(value(after, "zhub_converter_store_errors_total", { op: "put" })).toBe(0);
    expect(value(after, "zhub_converter_jobs", { state: "running" })).toBe(0);
    expect(value(after, "zhub_converter_jobs_submitted_total", { result: "accepted" })).toBe(2);
    expect(value(after, "zhub_converter_jobs_submitted_total", { result: "duplicate" })).toBe(1);
  }, 60_000);
});

describe("job gauges", () => {
  it("show the running and the queued jobs, and a shutdown counts them stopped", async () => {
    // One slot and an input read slowly: the first job runs while the second waits.
    const slow = await startRig({ CONVERTER_CONCURRENCY: "1", CONVERTER_QUEUE_LIMIT: "1", CONVERTER_TEST_INPUT_BYTES_PER_SECOND: "20000" });
    try {
      const specs = [1, 2].map((i) => {
        const id = jobId(`gauge${i}`);
        slow.peer.inputs.set(id, path.join(FIXTURES, "tree-main.tar.gz"));
        return { id, attempt: 1, kind: "tar", repository: "alice", name: `g${i}.flist`, metadata: {} };
      });
      for (const spec of specs) expect((await slow.submit(spec)).status).toBe(202);
      const { samples } = parse(await metricsOf(slow));
      expect(value(samples, "zhub_converter_jobs_submitted_total", { result: "accepted" })).toBe(2);
      // A third finds the queue full: 503, counted busy.
      expect((await slow.submit({ ...specs[0]!, id: jobId("gauge3"), name: "g3.flist" })).status).toBe(503);
      const { samples: full } = parse(await metricsOf(slow));
      expect(value(full, "zhub_converter_jobs_submitted_total", { result: "busy" })).toBe(1);
      expect(value(samples, "zhub_converter_jobs", { state: "running" })).toBe(1);
      expect(value(samples, "zhub_converter_jobs", { state: "queued" })).toBe(1);
      expect(value(samples, "zhub_converter_queue_depth")).toBe(1);
      await slow.converter.runner.close();
      // The runner is closed, the HTTP server still answers.
      const { samples: end } = parse(await metricsOf(slow));
      expect(value(end, "zhub_converter_jobs_finished_total", { kind: "tar", outcome: "stopped" })).toBe(2);
      // Only the one that ran has a duration.
      expect(value(end, "zhub_converter_job_duration_seconds_count", { kind: "tar" })).toBe(1);
      expect(value(end, "zhub_converter_jobs", { state: "running" })).toBe(0);
    } finally {
      await slow.stop();
    }
  }, 60_000);
});

async function metricsOf(r: Rig): Promise<string> {
  const res = await fetch(`${r.converter.url}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe("ConverterMetrics", () => {
  it("renders histogram buckets cumulatively and escapes label values", () => {
    const m = new ConverterMetrics();
    m.storeCall("get", 0.003, true);
    m.storeCall("get", 0.2, false);
    m.jobFinished('we"ird\\kind\n', "stopped", undefined);
    const { samples, types } = parse(m.render());
    expect(types.get("zhub_converter_store_request_duration_seconds")).toBe("histogram");
    expect(value(samples, "zhub_converter_store_request_duration_seconds_bucket", { op: "get", le: "0.001" })).toBe(0);
    expect(value(samples, "zhub_converter_store_request_duration_seconds_bucket", { op: "get", le: "0.005" })).toBe(1);
    expect(value(samples, "zhub_converter_store_request_duration_seconds_bucket", { op: "get", le: "0.25" })).toBe(2);
    expect(value(samples, "zhub_converter_store_errors_total", { op: "get" })).toBe(1);
    expect(m.render()).toContain('zhub_converter_jobs_finished_total{kind="we\\"ird\\\\kind\\n",outcome="stopped"} 1');
    // A job stopped before it started has no duration.
    expect(samples.some((s) => s.name.startsWith("zhub_converter_job_duration_seconds"))).toBe(false);
  });
});
