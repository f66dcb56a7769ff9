import { defineProject } from "vitest/config";

// End-to-end tests on the real local stack (e2e/support/stack.ts): one stack per file, files one after another
// (each starts wrangler dev, the converter and a chunk store; the machine has few cores).
export default defineProject({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    // The image test has its own run (`npm run test:image`, e2e/image/vitest.config.ts).
    exclude: ["image/**", "**/node_modules/**"],
    environment: "node",
    setupFiles: ["../converter/test/support/unhandled.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
  },
});
