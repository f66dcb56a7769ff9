/**
 * A passing run has no unhandled rejection: one fails the test that caused it, in Node and in workerd
 * (converter/test/support/unhandled.ts, worker/test/support/unhandled.ts). Checked by running a deliberately
 * broken test (e2e/unhandled/) through vitest and reading its report.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

it("an unhandled rejection fails the test it happened in, under Node and under workerd", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zos-hub-unhandled-"));
  const reportFile = path.join(dir, "report.json");
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--config", "e2e/unhandled/vitest.config.ts", "--reporter", "json", "--outputFile", reportFile],
    { cwd: ROOT, encoding: "utf8", timeout: 240_000, env: { ...process.env, NO_COLOR: "1" } },
  );
  expect(run.status, run.stderr).toBe(1);
  const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as {
    testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
  };
  fs.rmSync(dir, { recursive: true, force: true });
  const results = report.testResults.flatMap((file) => file.assertionResults);
  // Once per project: the broken test failed with the rejection's reason, its neighbour passed.
  const broken = results.filter((r) => r.title === "leaves a rejection unhandled");
  expect(broken.map((r) => r.status)).toEqual(["failed", "failed"]);
  for (const r of broken) expect(r.failureMessages.join("\n")).toMatch(/unhandled rejection during this test:[\s\S]*nobody handles this rejection/);
  expect(results.filter((r) => r.title === "a clean neighbour").map((r) => r.status)).toEqual(["passed", "passed"]);
});
