/** Durations as operators write them: `3600` (seconds), `90s`, `15m`, `12h`, `30d`, `2w`. Returns seconds. */
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*([smhdw]?)\s*$/i.exec(text);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 3600, 90s, 15m, 12h, 30d, 2w)`);
  const seconds = Number(m[1]) * (UNITS[(m[2] || "s").toLowerCase()] ?? 1);
  if (!Number.isSafeInteger(seconds)) throw new Error(`duration ${JSON.stringify(text)} is too large`);
  return seconds;
}

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
