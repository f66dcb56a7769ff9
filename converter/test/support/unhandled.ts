/**
 * An unhandled rejection fails the test it happened in (setup file of the Node test projects: converter/ and
 * e2e/ vitest configs; the Worker's twin is worker/test/support/unhandled.ts). Vitest alone reports it after the
 * run, attributed to no test, while the test itself shows as passed.
 */
import { afterEach } from "vitest";

const reasons: unknown[] = [];
const record = (reason: unknown) => void reasons.push(reason);

process.on("unhandledRejection", record);

afterEach(async () => {
  // A rejection of the test's last promise surfaces a turn later.
  await new Promise((resolve) => setImmediate(resolve));
  if (reasons.length === 0) return;
  const found = reasons.splice(0).map((r) => (r instanceof Error ? (r.stack ?? r.message) : String(r)));
  throw new Error(`unhandled rejection during this test:\n${found.join("\n")}`);
});
