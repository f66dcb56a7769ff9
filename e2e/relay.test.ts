/**
 * scripts/lib/relay.ts on the services' JSON log lines (protocol/logging.ts): shown readably, and by default only
 * the converter's job lines, warnings and errors (not its start and stop lines). Plain text passes as it came.
 */
import { describe, expect, it } from "vitest";
import { formatLogLine, type LogLine } from "../protocol/logging.ts";
import { converterLine, readable } from "../scripts/lib/relay.ts";

const line = (fields: Partial<LogLine>): string =>
  formatLogLine({ time: "2026-12-03T06:44:58.627Z", level: "info", service: "worker", msg: "m", ...fields } as LogLine);

describe("readable", () => {
  it("shows time, level, job, message, fields and request id", () => {
    expect(readable(line({ msg: "job dispatched", job_id: "j-1", attempt: 1, trigger: "queue", request_id: "r-12345678" }))).toBe(
      "06:44:58 info  job j-1: job dispatched (attempt=1 trigger=queue) [request r-12345678]",
    );
    expect(readable(line({ level: "error", msg: "unhandled error", error: "Error: boom here" }))).toBe('06:44:58 error unhandled error (error="Error: boom here")');
  });

  it("finds the line after a prefix and leaves other text alone", () => {
    expect(readable(`\u001b[2m${line({ msg: "x" })}`)).toBe("06:44:58 info  x");
    for (const text of ["[wrangler:info] GET /api/flist 200 OK (7ms)", "{not json}", "", "   at foo (bar.ts:1:1)"]) expect(readable(text)).toBe(text);
  });
});

describe("converterLine (the default relay)", () => {
  it("keeps job lines, warnings and errors; drops the start and stop lines and other info lines", () => {
    const c = (fields: Partial<LogLine>) => line({ service: "converter", ...fields });
    expect(converterLine(c({ msg: "started", job_id: "j" }))).toBe(true);
    expect(converterLine(c({ msg: "accepted", job_id: "j", level: "debug" }))).toBe(false);
    expect(converterLine(c({ msg: "internal error", level: "error" }))).toBe(true);
    expect(converterLine(c({ msg: "progress event not delivered", level: "warn" }))).toBe(true);
    expect(converterLine(c({ msg: "converter listening on http://127.0.0.1:8788 (…)" }))).toBe(false);
    expect(converterLine(c({ msg: "converter: SIGTERM, stopping" }))).toBe(false);
    expect(converterLine(c({ msg: "something else" }))).toBe(false);
    // Before the log exists (a configuration error), the text as it is.
    expect(converterLine("converter: invalid converter configuration:")).toBe(true);
  });
});
