/**
 * HTTP load with wrk (Debian's `wrk`, a C load generator: on a 2-core machine a Node generator would take the CPU
 * the hub needs): `connections` keep-alive connections on 2 threads for `seconds`, closed loop. A Lua `done` hook
 * prints wrk's own summary as JSON: requests, errors (socket errors and statuses other than 2xx/3xx), latency
 * percentiles.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface LoadResult {
  label: string;
  /** Answered without error. */
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

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

export async function load(label: string, url: string, options: { connections?: number; seconds?: number } = {}): Promise<LoadResult> {
  const connections = options.connections ?? 32;
  const seconds = options.seconds ?? 10;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-wrk-"));
  const script = path.join(dir, "report.lua");
  await fs.promises.writeFile(script, REPORT);
  try {
    const args = ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", script, url];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (text += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.once("error", (e) => reject(new Error(`wrk: ${e.message} (Debian package wrk)`)));
      child.once("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${err}${text}`))));
    });
    const line = out.split("\n").find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const r = JSON.parse(line) as { requests: number; duration_us: number; bytes: number; errors: number; p50: number; p90: number; p99: number; max: number };
    const elapsed = r.duration_us / 1e6;
    const ok = Math.max(0, r.requests - r.errors);
    return {
      label,
      requests: ok,
      errors: r.errors,
      seconds: elapsed,
      rps: ok / elapsed,
      mbps: r.bytes / elapsed / 1e6,
      p50: r.p50 / 1000,
      p90: r.p90 / 1000,
      p99: r.p99 / 1000,
      max: r.max / 1000,
    };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}
