/**
 * What `npm start` (scripts/start.ts) relays of its services' output. By default only what a user must see: the
 * Worker's warnings and errors (no bundler output, bindings table nor request lines) and the converter's job lines.
 * `HUB_LOG=verbose` relays every line, request lines included.
 */
import { stripVTControlCharacters } from "node:util";

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

/**
 * By default, whether to relay a converter line: all but its start and stop lines
 * (converter/src/service/main.ts), which scripts/start.ts reports itself.
 */
export function converterLine(line: string): boolean {
  return !/^converter listening on /.test(line) && !/^converter: SIG[A-Z]+, stopping$/.test(line);
}
