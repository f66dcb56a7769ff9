/**
 * The production Worker's upload size against Cloudflare's limits: `wrangler deploy --dry-run --outdir` of
 * wrangler.production.toml as `npm run deploy` hands it to wrangler (scripts/deploy/config.ts), measured like
 * wrangler's own "Total Upload" line and printed with the limits. The converter image is given as a registry
 * reference: with the Dockerfile, a dry run would build the image, which needs Docker.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/devvars.ts";
import { WRANGLER, wranglerEnv } from "../scripts/lib/processes.ts";
import { WORKER_SIZE_LIMITS, bundleTooLarge, formatBundleSize, measureBundle } from "../scripts/deploy/bundle-size.ts";
import { deriveConfig, readSourceConfig, writeConfig } from "../scripts/deploy/config.ts";
import { SECRET_NAMES } from "../scripts/deploy/secrets.ts";

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-bundle-size-"));
});

afterAll(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

it("the production Worker fits Workers Free, as wrangler measures it", async () => {
  const config = path.join(work, "wrangler.json");
  const source = readSourceConfig(path.join(ROOT, "wrangler.production.toml"));
  writeConfig(
    config,
    deriveConfig(source, config, {
      accountId: "0".repeat(32),
      d1Ids: new Map([["zos-hub", "00000000-0000-0000-0000-000000000000"]]),
      vars: {},
      image: "registry.cloudflare.com/zos-hub-converter:bundle-size",
      requiredSecrets: SECRET_NAMES,
    }),
  );
  const outdir = path.join(work, "bundle");
  const { stdout } = await run(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir, "-c", config], {
    cwd: ROOT,
    env: { ...wranglerEnv(), XDG_CONFIG_HOME: path.join(work, "xdg") },
    maxBuffer: 16 * 1024 * 1024,
  });

  const size = measureBundle(outdir);
  console.log(formatBundleSize(size));
  expect(size.modules).toEqual(["index.js"]);
  // Our measurement is wrangler's: the same figures as its "Total Upload" line.
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
  expect(reported).not.toBeNull();
  expect((size.bytes / 1024).toFixed(2)).toBe(reported![1]);
  expect((size.gzipBytes / 1024).toFixed(2)).toBe(reported![2]);

  expect(bundleTooLarge(size)).toBeUndefined();
  expect(size.gzipBytes).toBeLessThan(WORKER_SIZE_LIMITS.freeGzip);
  expect(size.bytes).toBeLessThan(WORKER_SIZE_LIMITS.uncompressed);
}, 180_000);
