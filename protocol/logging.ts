/**
 * The log line both services write (docs/operations.md "Logs"): one JSON object per line, with the request id that
 * ties a job's lines in the Worker and in the converter together. The Worker sends it to the converter (job
 * dispatch, chunk proxying) in {@link REQUEST_ID_HEADER}, and the converter sends it back on its reports, so the
 * id a request was given follows its job everywhere. scripts/lib/relay.ts reads these lines back for `npm start`.
 *
 * Dependency-free but redact.ts: it runs in workerd and in Node.
 */
import { redactSecrets } from "./redact.ts";

/** The header carrying the request id, on the answer and on every hop between the services. */
export const REQUEST_ID_HEADER = "x-request-id";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `HUB_LOG_LEVEL`: unset or empty = info; an unknown value is undefined (the caller says what is wrong). */
export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return "info";
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}

/** Whether a line of `level` is written when the threshold is `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/**
 * A request id taken from outside (an `x-request-id` header, Cloudflare's `cf-ray`): short, printable, no spaces,
 * so it can neither forge a log line nor carry a secret of any size (a hub token is far longer than 128).
 */
export function isRequestId(value: string | null | undefined): value is string {
  return typeof value === "string" && /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/.test(value) && redactSecrets(value) === value;
}

/** The context fields a line may carry; every other field is free but must stay low in size. */
export interface LogFields {
  request_id?: string;
  job_id?: string;
  attempt?: number;
  route?: string;
  method?: string;
  path?: string;
  status?: number;
  duration_ms?: number;
  [key: string]: string | number | boolean | undefined;
}

/** One log line: `time` ISO 8601, `service` "worker" or "converter". */
export interface LogLine extends LogFields {
  time: string;
  level: LogLevel;
  service: string;
  msg: string;
}

/** The line as written: JSON, every string field through redactSecrets (docs/names.md "Tokens and logs"). */
export function formatLogLine(line: LogLine): string {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(line)) {
    if (value === undefined) continue;
    out[key] = typeof value === "string" ? redactSecrets(value) : value;
  }
  return JSON.stringify(out);
}

/** A line of {@link formatLogLine}, or undefined for any other text (wrangler's own lines, a stack trace). */
export function parseLogLine(text: string): LogLine | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return undefined;
  try {
    const value = JSON.parse(trimmed) as Partial<LogLine> | null;
    if (!value || typeof value !== "object") return undefined;
    if (typeof value.msg !== "string" || typeof value.time !== "string" || !(LOG_LEVELS as readonly unknown[]).includes(value.level)) return undefined;
    return value as LogLine;
  } catch {
    return undefined;
  }
}
