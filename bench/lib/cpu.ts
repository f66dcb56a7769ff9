/**
 * CPU seconds spent by processes, read from /proc (Linux): a machine with few cores is CPU-bound, and these figures
 * say where the time went (the engine, workerd with its local R2 emulation, wrangler, Redis).
 */
import fs from "node:fs";

/** clock ticks per second of /proc's utime/stime (USER_HZ, 100 on Linux). */
const HZ = 100;

interface Proc {
  pid: number;
  ppid: number;
  /** utime + stime, seconds (its own threads included). */
  cpu: number;
  /** cutime + cstime: children it waited for. */
  children: number;
  command: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state ppid … utime(12th) stime cutime cstime.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    return {
      pid,
      ppid: Number(rest[1]),
      cpu: (Number(rest[11]) + Number(rest[12])) / HZ,
      children: (Number(rest[13]) + Number(rest[14])) / HZ,
      command,
    };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** CPU seconds of this process's children that have ended (e.g. a command run to its end). */
export function endedChildrenCpu(): number {
  return readProc(process.pid)?.children ?? 0;
}

/** CPU seconds so far of every living descendant of this process, summed by `label(command)`. */
export function descendantsCpu(label: (command: string) => string): Map<string, number> {
  const procs = fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is Proc => p !== undefined);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const isDescendant = (p: Proc): boolean => {
    for (let at = byPid.get(p.ppid); at !== undefined; at = byPid.get(at.ppid)) if (at.pid === process.pid) return true;
    return p.ppid === process.pid;
  };
  const sums = new Map<string, number>();
  for (const p of procs) if (isDescendant(p)) sums.set(label(p.command), (sums.get(label(p.command)) ?? 0) + p.cpu);
  return sums;
}

/** `after − before` per label, largest first, as "label 1.23 s" parts. */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after].map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)]).filter(([, v]) => v >= 0.01).sort((a, b) => b[1] - a[1]);
}
