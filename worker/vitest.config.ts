import fs from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { buildSiteJs } from "../scripts/build-site-js.ts";

const root = path.resolve(import.meta.dirname, "..");
const fixturesDir = path.resolve(root, "../shared/fixtures/flists");

/**
 * Tests run inside workerd and cannot read the disk, so the reference fixtures are
 * handed over as a binding: for each flist its bytes (base64), the `find` listing
 * (the contents listing the converter computes) and its metadata key → value.
 */
function loadFixtures(): Record<string, { flist: string; find: unknown; metadata: Record<string, unknown> }> {
  const out: Record<string, { flist: string; find: unknown; metadata: Record<string, unknown> }> = {};
  for (const name of ["main", "overlay", "meta", "edited", "merged", "empty"]) {
    const expected = path.join(fixturesDir, `${name}.flist.expected`);
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(expected, f), "utf8")).response;
    const metadata: Record<string, unknown> = {};
    for (const key of read("metadata.json") as string[]) metadata[key] = read(`metadata-${key}.json`).value;
    out[name] = {
      flist: fs.readFileSync(path.join(fixturesDir, `${name}.flist`)).toString("base64"),
      find: read("find.json"),
      metadata,
    };
  }
  return out;
}

// The pool reads wrangler.toml but does not run its `[build]` command: bundle the site's script here, as it does.
await buildSiteJs();

export default defineProject({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: path.join(root, "wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
          TEST_FIXTURES: loadFixtures(),
          // Test-only secrets; real ones come from `wrangler secret put` / .dev.vars.
          HUB_SIGNING_SEED: "4242424242424242424242424242424242424242424242424242424242424242",
          INTERNAL_SECRET: "test-internal-secret",
          // No converter runs inside workerd: a host that cannot resolve, so a dispatch a test does not answer
          // itself (by intercepting fetch) fails like an unreachable converter instead of reaching a real one.
          HUB_CONVERTER_URL: "http://converter.invalid",
          // Every answer carries its D1/R2/cache counts (cost/middleware.ts): the cost tests read them, and every
          // other test runs through the counting wrappers, which shows they change nothing.
          HUB_REQUEST_COST: "true",
        },
      },
    })),
  ],
  test: {
    name: "worker",
    include: ["test/**/*.test.ts"],
  },
});
