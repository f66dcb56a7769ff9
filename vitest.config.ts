import { defineConfig } from "vitest/config";

// One `npm test` runs every suite: the Worker inside workerd, the converter in Node.
export default defineConfig({
  test: {
    projects: ["worker/vitest.config.ts", "converter/vitest.config.ts", "e2e/vitest.config.ts"],
  },
});
