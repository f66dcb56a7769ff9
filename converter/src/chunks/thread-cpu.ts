/**
 * CPU seconds of the calling thread and of the whole process, for `zhub flist create --json`'s `cpu` figures and the chunk workers' stage times
 * (docs/benchmarks.md "flist create"): on a machine with few cores the wall time depends on what else runs,
 * the CPU seconds per stage do not.
 */
import fs from "node:fs";

/** USER_HZ: the unit of /proc's utime and stime (100 on every Linux Node runs on). */
const HZ = 100;

/** user + system CPU seconds of the calling thread (Linux /proc/thread-self), or undefined elsewhere. */
export function threadCpuSeconds(): number | undefined {
  try {
    const stat = fs.readFileSync("/proc/thread-self/stat", "utf8");
    // Fields after "(comm)": state ppid … utime is the 12th, stime the 13th.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / HZ;
  } catch {
    return undefined;
  }
}

/** user + system CPU seconds of the whole process so far (every thread). */
export function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
