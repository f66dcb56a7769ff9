import { defineConfig } from "vitest/config";

// `npm run test:image`: converter/Dockerfile built with buildah and run against the real local stack. Not part
// of `npm test` (building the image from nothing takes ~10 minutes on a 2-core machine); .ci/run runs it after.
export default defineConfig({
  test: {
    name: "image",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 1_800_000,
  },
});
