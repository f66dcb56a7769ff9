import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "converter",
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/unhandled.ts"],
    environment: "node",
    testTimeout: 60_000,
  },
});
