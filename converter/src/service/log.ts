/**
 * The converter's log (docs/operations.md "Logs"): one JSON line per call (protocol/logging.ts), each string
 * scrubbed of the service's secrets (errors.ts) and redacted of tokens. A child logger adds its fields to every
 * line: a job's carry its job_id, attempt, kind, flist and the request_id of the request that started it.
 */
import { formatLogLine, levelEnabled, type LogFields, type LogLevel } from "../../../protocol/logging.ts";
import { scrub } from "./errors.ts";

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** The same log with `fields` on every line; `secrets` are scrubbed too (a docker job's registry password). */
  child(fields: LogFields, secrets?: readonly string[]): Logger;
}

export interface LoggerOptions {
  /** Where each finished line goes (default: stdout). */
  sink?: (line: string) => void;
  /** Lines below it are dropped (default info). */
  level?: LogLevel;
  secrets?: readonly string[];
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const sink = options.sink ?? ((line: string) => console.log(line));
  const threshold = options.level ?? "info";
  const secrets = options.secrets ?? [];
  const write = (level: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (!levelEnabled(level, threshold)) return;
    const line: Record<string, string | number | boolean | undefined> = { time: new Date().toISOString(), level, service: "converter", msg, ...base, ...fields };
    for (const [key, value] of Object.entries(line)) if (typeof value === "string") line[key] = scrub(value, secrets);
    sink(formatLogLine(line as Parameters<typeof formatLogLine>[0]));
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    child: (fields, more = []) => createLogger({ sink, level: threshold, secrets: [...secrets, ...more] }, { ...base, ...fields }),
  };
}
