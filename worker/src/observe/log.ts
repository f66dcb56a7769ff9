/**
 * The Worker's log (docs/operations.md "Logs"): one JSON line per call (protocol/logging.ts), with the current
 * request id, through the console method of its level so Workers Logs and `wrangler dev --log-level` sort them.
 * Lines below `HUB_LOG_LEVEL` are not written.
 */
import { formatLogLine, levelEnabled, parseLogLevel, type LogFields, type LogLevel } from "../../../protocol/logging";
import { currentContext } from "./context";

const CONSOLE: { [L in LogLevel]: (line: string) => void } = {
  debug: (line) => console.debug(line),
  // console.info, not console.log: `wrangler dev --log-level info` shows it (console.log is its level below).
  info: (line) => console.info(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** `HUB_LOG_LEVEL` as the Worker reads it: an unknown value falls back to info, said once per isolate. */
let warnedLevel: string | undefined;
export function logLevelOf(value: string | undefined): LogLevel {
  const level = parseLogLevel(value);
  if (level) return level;
  if (warnedLevel !== value) {
    warnedLevel = value;
    write("warn", `HUB_LOG_LEVEL must be debug, info, warn or error, got ${JSON.stringify(value)}: using info`, {}, "info");
  }
  return "info";
}

function write(level: LogLevel, msg: string, fields: LogFields, threshold: LogLevel, requestId?: string): void {
  if (!levelEnabled(level, threshold)) return;
  const line = { time: new Date().toISOString(), level, service: "worker", msg, ...(requestId ? { request_id: requestId } : {}), ...fields };
  CONSOLE[level](formatLogLine(line));
}

function at(level: LogLevel) {
  return (msg: string, fields: LogFields = {}): void => {
    const context = currentContext();
    write(level, msg, fields, context.level, context.requestId);
  };
}

export const log = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };

/** An error's message for a log line. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
