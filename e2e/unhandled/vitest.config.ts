/**
 * The deliberately broken test e2e/unhandled/fixture.test-case.ts, run by e2e/unhandled-rejections.test.ts under
 * both kinds of project the suite has: Node (converter/, e2e/) and workerd (worker/), each with the setup file its
 * real project uses.
 */
import path from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig, defineProject } from "vitest/config";

const root = path.resolve(import.meta.dirname, "../..");
const include = [path.join(import.meta.dirname, "fixture.test-case.ts")];

export default defineConfig({
  test: {
    projects: [
      defineProject({
        test: { name: "node", root, include, environment: "node", setupFiles: [path.join(root, "converter/test/support/unhandled.ts")] },
      }),
      defineProject({
        plugins: [cloudflareTest({ miniflare: { compatibilityDate: "2026-04-26", compatibilityFlags: ["nodejs_compat"] } })],
        test: { name: "workerd", root, include, setupFiles: [path.join(root, "worker/test/support/unhandled.ts")] },
      }),
    ],
  },
});
