/**
 * An unhandled rejection fails the test it happened in (setup file of every Worker test, worker/vitest.config.ts).
 * Vitest alone reports it after the run, attributed to no test in particular, while the test itself shows as
 * passed; here the rejection is taken over and the test that was running when it surfaced fails with its reason.
 */
import { afterEach } from "vitest";

const reasons: unknown[] = [];

addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
  reasons.push(event.reason);
  event.preventDefault();
});

afterEach(async () => {
  // A rejection of the test's last promise surfaces a turn later.
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (reasons.length === 0) return;
  const found = reasons.splice(0).map((r) => (r instanceof Error ? (r.stack ?? r.message) : String(r)));
  throw new Error(`unhandled rejection during this test:\n${found.join("\n")}`);
});
