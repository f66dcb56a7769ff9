/**
 * What `npm start` (scripts/start.ts) relays of its services' output. By default only what a user must see: the
 * Worker's warnings and errors (no bundler output, bindings table nor request lines) and the converter's job lines.
 * `HUB_LOG=verbose` relays every line, request lines included. The services' JSON log lines (protocol/logging.ts)
 * are shown readably (`readable`).
 */
import { stripVTControlCharacters } from "node:util";
import { levelEnabled, parseLogLine, type LogLine } from "../../protocol/logging.ts";

export type LogMode = "default" | "verbose";

/** `HUB_LOG`: unset or empty for the default, `verbose` for everything; anything else is refused (undefined). */
export function logMode(value: string | undefined): LogMode | undefined {
  if (value === undefined || value === "") return "default";
  return value === "verbose" ? "verbose" : undefined;
}

/**
 * By default, whether to relay a line of the Worker's runtime (scripts/lib/runtime.ts): the Worker's
 * console.warn/console.error lines and the runtime's warnings and errors; not its console.log lines, the bundler's
 * output nor request lines.
 */
export function runtimeLine(_line: string, kind: "stdout" | "stderr" | "info" | "error"): boolean {
  return kind === "stderr" || kind === "error";
}

const CRON_WARNING = "Scheduled Workers are not automatically triggered during local development";

/**
 * `npm run dev`: by default, the wrangler lines to relay (a filter with state: call it for each line in order). It
 * drops one warning, wrangler's advice to fire crons by hand, which scripts/start.ts does itself every minute: the
 * warning's line, then its blank and indented continuation lines. Everything else wrangler prints at
 * `--log-level warn` is kept.
 */
export function wranglerLines(): (line: string) => boolean {
  let inCronWarning = false;
  return (line) => {
    const text = stripVTControlCharacters(line);
    if (text.includes(CRON_WARNING)) {
      inCronWarning = true;
      return false;
    }
    if (inCronWarning && (text.trim() === "" || /^\s/.test(text))) return false;
    inCronWarning = false;
    return true;
  };
}

/** The JSON log line in `text`, after any prefix wrangler may put before it; undefined for other text. */
function logLineIn(text: string): LogLine | undefined {
  const plain = stripVTControlCharacters(text);
  const start = plain.indexOf("{");
  return start < 0 ? undefined : parseLogLine(plain.slice(start));
}

const SHOWN_FIRST = ["time", "level", "service", "msg", "job_id", "request_id"];

/**
 * A JSON log line as a person reads it: `12:01:02 warn  job <id>: <msg> (k=v …) [request <id>]`; any other line
 * as it came. The time is the line's own (UTC), to the second.
 */
export function readable(text: string): string {
  const line = logLineIn(text);
  if (!line) return text;
  const time = /T(\d\d:\d\d:\d\d)/.exec(line.time)?.[1] ?? line.time;
  const fields = Object.entries(line)
    .filter(([key, value]) => !SHOWN_FIRST.includes(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === "string" && /\s/.test(value) ? JSON.stringify(value) : String(value)}`);
  const job = line.job_id ? `job ${line.job_id}: ` : "";
  const details = fields.length ? ` (${fields.join(" ")})` : "";
  const request = line.request_id ? ` [request ${line.request_id}]` : "";
  return `${time} ${line.level.padEnd(5)} ${job}${line.msg}${details}${request}`;
}

/**
 * By default, whether to relay a converter line: its job lines, warnings and errors, not its start and stop lines
 * (converter/src/service/main.ts), which scripts/start.ts reports itself. Text that is not a log line (a
 * configuration error before the log exists, a crash) is relayed.
 */
export function converterLine(text: string): boolean {
  const line = logLineIn(text);
  const msg = line ? line.msg : text;
  if (/^converter listening on /.test(msg) || /^converter: SIG[A-Z]+, stopping$/.test(msg)) return false;
  if (!line) return true;
  return levelEnabled(line.level, "warn") || (line.job_id !== undefined && levelEnabled(line.level, "info"));
}
