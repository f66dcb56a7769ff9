import fs from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { buildSiteJs } from "../scripts/build-site-js.ts";
import { startNoConverter } from "../e2e/support/no-converter.ts";

const root = path.resolve(import.meta.dirname, "..");
const fixturesDir = path.resolve(root, "../shared/fixtures/flists");

/**
 * Tests run inside workerd and cannot read the disk, so the reference fixtures are
 * handed over as a binding: for each flist its bytes (base64), the `find` listing
 * (the contents listing the converter computes), its metadata key → value, and the real zflist's
 * type (and symlink target) of every path, from its `stat` view.
 */
type Fixture = { flist: string; find: unknown; metadata: Record<string, unknown>; stat: Record<string, { type: string; linkto?: string }> };
function loadFixtures(): Record<string, Fixture> {
  const out: Record<string, Fixture> = {};
  for (const name of ["main", "overlay", "meta", "edited", "merged", "empty"]) {
    const expected = path.join(fixturesDir, `${name}.flist.expected`);
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(expected, f), "utf8")).response;
    const metadata: Record<string, unknown> = {};
    for (const key of read("metadata.json") as string[]) metadata[key] = read(`metadata-${key}.json`).value;
    const stat: Fixture["stat"] = {};
    const views = JSON.parse(fs.readFileSync(path.join(expected, "stat.json"), "utf8")) as {
      path: string;
      type: string;
      output: { response: { linkto?: string } };
    }[];
    for (const v of views) stat[v.path] = { type: v.type, ...(v.output.response.linkto !== undefined ? { linkto: v.output.response.linkto } : {}) };
    out[name] = {
      flist: fs.readFileSync(path.join(fixturesDir, `${name}.flist`)).toString("base64"),
      find: read("find.json"),
      metadata,
      stat,
    };
  }
  return out;
}

// The pool reads wrangler.toml but does not run its `[build]` command: bundle the site's script here, as it does.
await buildSiteJs();
const noConverter = await startNoConverter();
dropTeardownNoise();

/**
 * Two lines workerd prints in a passing run that are not failures of the hub (docs/testing.md "Output"), dropped
 * from the output by their exact text:
 *  - `disconnected: WebSocket peer disconnected`, each time the pool closes a test file's runner socket: normal
 *    teardown. The pool filters its other teardown messages, this one only from @cloudflare/vitest-pool-workers 0.17
 *    on, which needs a newer wrangler than the one pinned here.
 *  - `Uncaught (in promise) … Can't read from request stream because client disconnected`, from Miniflare's R2
 *    simulator (its own worker, not the hub's isolate): its `uploadPart` leaves the part's MD5 digest promise
 *    unhandled when the part's body is cut off, which test/support/resumable-suite.ts does on purpose ("a part that
 *    breaks off"). A rejection the hub leaves unhandled fails its test instead (test/support/unhandled.ts).
 */
function dropTeardownNoise(): void {
  const benign = [
    /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected\n$/,
    /^uncaught exception; source = Uncaught \(in promise\); stack = TypeError: Can't read from request stream because client disconnected\.\n$/,
  ];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      typeof chunk === "string" && benign.some((line) => line.test(chunk)) ? true : write(chunk, ...rest)) as typeof stream.write;
  }
}

export default defineProject({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: path.join(root, "wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
          TEST_FIXTURES: loadFixtures(),
          // The OpenAPI 3.1 meta-schema the validator package reads from its own folder, which workerd cannot.
          TEST_OPENAPI_31_SCHEMA: JSON.parse(
            fs.readFileSync(path.join(root, "node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json"), "utf8"),
          ),
          // Test-only secrets; real ones come from `wrangler secret put` / .dev.vars.
          HUB_SIGNING_SEED: "4242424242424242424242424242424242424242424242424242424242424242",
          INTERNAL_SECRET: "test-internal-secret",
          // No converter runs beside workerd: a dispatch a test does not answer itself (support/jobs.ts) reaches
          // a loopback stand-in that answers as a busy converter (e2e/support/no-converter.ts says why).
          HUB_CONVERTER_URL: noConverter.url,
          // A request line per call would bury the test output; worker/test/observe.test.ts sets its own level.
          HUB_LOG_LEVEL: "warn",
          // Every answer carries its D1/R2/cache counts (cost/middleware.ts): the cost tests read them, and every
          // other test runs through the counting wrappers, which shows they change nothing.
          HUB_REQUEST_COST: "true",
          // The memory tier (src/edge/memory.ts) lives in module state, which storage isolation between tests does
          // not reset: off here; test/edge-memory.test.ts turns it on for the requests it sends.
          HUB_MEMORY_CACHE_MB: "0",
        },
      },
    })),
  ],
  test: {
    name: "worker",
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/unhandled.ts"],
  },
});
