import { defineConfig } from "vitest/config";

// One `npm test` runs every suite: the Worker inside workerd, the converter in Node, the end-to-end stacks.
// Two test files at a time from any project (Vitest's default on 2 cores is one): while an end-to-end file waits on
// its stack, a Worker or converter file uses the other core (docs/testing.md "Time").
export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: ["worker/vitest.config.ts", "converter/vitest.config.ts", "e2e/vitest.config.ts"],
  },
});
