/**
 * A small closed-loop HTTP load generator (autocannon-like, without a new dependency): `connections`
 * keep-alive sockets, each sending its next request as soon as the previous response body has been read,
 * for `seconds`. Reports requests/s, throughput and latency percentiles.
 */
import http from "node:http";

export interface LoadResult {
  label: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  mbps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function once(agent: http.Agent, url: URL): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: "GET" }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export async function load(
  label: string,
  url: string,
  options: { connections?: number; seconds?: number; expectStatus?: number } = {},
): Promise<LoadResult> {
  const connections = options.connections ?? 32;
  const seconds = options.seconds ?? 10;
  const expect = options.expectStatus ?? 200;
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  const start = performance.now();
  const end = start + seconds * 1000;

  async function worker(): Promise<void> {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await once(agent, target);
        bytes += res.bytes;
        if (res.status !== expect) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }

  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    label,
    requests: latencies.length,
    errors,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    mbps: bytes / elapsed / 1e6,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
  };
}

export function formatResults(results: LoadResult[]): string {
  const rows = [["route", "req/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ok", "errors"]];
  for (const r of results) {
    rows.push([
      r.label,
      r.rps.toFixed(0),
      r.mbps.toFixed(1),
      r.p50.toFixed(1),
      r.p90.toFixed(1),
      r.p99.toFixed(1),
      r.max.toFixed(1),
      String(r.requests),
      String(r.errors),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}
