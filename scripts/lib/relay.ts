/**
 * What `npm start` (scripts/start.ts) relays of its services' output. By default only what a user must see: the
 * Worker's warnings and errors (no bundler output, bindings table nor request lines) and the converter's job lines.
 * `HUB_LOG=verbose` relays every line, request lines included.
 */
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

/**
 * By default, whether to relay a converter line: all but its start and stop lines
 * (converter/src/service/main.ts), which scripts/start.ts reports itself.
 */
export function converterLine(line: string): boolean {
  return !/^converter listening on /.test(line) && !/^converter: SIG[A-Z]+, stopping$/.test(line);
}
