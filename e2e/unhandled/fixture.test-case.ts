// Deliberately broken test (run only by e2e/unhandled-rejections.test.ts through e2e/unhandled/vitest.config.ts):
// its promise rejects with nobody listening, while its assertions pass.
import { expect, it } from "vitest";

it("leaves a rejection unhandled", async () => {
  void Promise.reject(new Error("nobody handles this rejection"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(true).toBe(true);
});

it("a clean neighbour", () => {
  expect(1 + 1).toBe(2);
});
