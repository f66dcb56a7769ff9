import { defineProject } from "vitest/config";

// End-to-end tests on the real local stack (e2e/support/stack.ts): one stack per file (the lean runtime, the
// converter and a chunk store, each on ports of its own), run beside the other projects' files (vitest.config.ts).
export default defineProject({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    // The image test has its own run (`npm run test:image`, e2e/image/vitest.config.ts).
    exclude: ["image/**", "**/node_modules/**"],
    environment: "node",
    setupFiles: ["../converter/test/support/unhandled.ts"],
    testTimeout: 300_000,
    hookTimeout: 240_000,
  },
});
