/**
 * Runs a command to its end under `/usr/bin/time` and returns its wall time (measured here, spawn to exit), its
 * user and system CPU seconds and its peak RSS (the kernel's rusage of that process and its threads).
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Timed {
  wall: number;
  user: number;
  sys: number;
  /** Peak RSS, MB (10^6 bytes). */
  rssMB: number;
  stdout: string;
}

export function timed(command: string, args: string[], options: SpawnSyncOptions = {}): Timed {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "zhub-bench-time-")), "time");
  try {
    const started = process.hrtime.bigint();
    const result = spawnSync("/usr/bin/time", ["-f", "%U %S %M", "-o", out, command, ...args], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      ...options,
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
      throw new Error(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status}): ${String(result.stderr).slice(-2000)}`);
    }
    // The last line: a failing command makes time(1) write "Command exited…" before it.
    const [user, sys, rssKB] = fs.readFileSync(out, "utf8").trim().split("\n").pop()!.split(" ").map(Number) as [number, number, number];
    return { wall, user, sys, rssMB: (rssKB * 1024) / 1e6, stdout: String(result.stdout) };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** user + system CPU seconds of a running process (Linux /proc), 0 once it is gone. */
export function processCpu(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
