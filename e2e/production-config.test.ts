/**
 * wrangler.production.toml, as wrangler itself reads it: `wrangler types` resolves every binding of the config and
 * names the class behind each Durable Object namespace (a real deploy also builds converter/Dockerfile with Docker;
 * `npm run test:image` builds and runs it here with buildah). Checks the converter's container binding and that the
 * production config keeps every variable of the local one.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/devvars.ts";
import { WRANGLER, wranglerEnv } from "../scripts/lib/processes.ts";

const run = promisify(execFile);
let work: string;

/** The `interface Env` members wrangler generates for `config`: name → type. */
async function envOf(config: string): Promise<Map<string, string>> {
  const out = path.join(work, `${path.basename(config)}.d.ts`);
  await run(WRANGLER, ["types", "-c", path.join(ROOT, config), "--include-runtime=false", out], { cwd: ROOT, env: wranglerEnv() });
  const text = fs.readFileSync(out, "utf8");
  const body = /interface Env \{\n([\s\S]*?)\n\t\}/.exec(text)?.[1] ?? "";
  return new Map(body.split("\n").map((line) => line.trim().replace(/;$/, "").split(/: (.*)/s).slice(0, 2) as [string, string]));
}

let local: Map<string, string>;
let production: Map<string, string>;

beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-prod-config-"));
  [local, production] = await Promise.all([envOf("wrangler.toml"), envOf("wrangler.production.toml")]);
}, 120_000);

afterAll(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

describe("wrangler.production.toml", () => {
  it("binds CONVERTER to the Converter container class the Worker exports", () => {
    expect(production.get("CONVERTER")).toMatch(/^DurableObjectNamespace<import\(".*worker\/src\/index"\)\.Converter>$/);
    expect(local.has("CONVERTER")).toBe(false); // local runs reach the converter by URL
    const config = fs.readFileSync(path.join(ROOT, "wrangler.production.toml"), "utf8");
    expect(config).toMatch(/\[\[containers\]\]\nclass_name = "Converter"\nimage = "\.\/converter\/Dockerfile"/);
    expect(config).toMatch(/new_sqlite_classes = \["Converter"\]/);
  });

  it("has every binding and variable of wrangler.toml, with production values where they differ", () => {
    const missing = [...local.keys()].filter((name) => !production.has(name));
    expect(missing).toEqual([]);
    expect(production.get("HUB_PUBLIC_URL")).toMatch(/^"https:\/\//);
    expect(production.get("HUB_BACKEND")).not.toMatch(/127\.0\.0\.1/);
    // The per-request cost header tells anyone what a request costs: off in production (cost/middleware.ts).
    expect(production.get("HUB_REQUEST_COST")).toBe('"false"');
  });

  it("binds HUB_ANALYTICS to an Analytics Engine dataset; local runs have none (worker/src/observe/analytics.ts)", () => {
    expect(production.get("HUB_ANALYTICS")).toBe("AnalyticsEngineDataset");
    expect(local.has("HUB_ANALYTICS")).toBe(false);
    expect(production.get("HUB_LOG_LEVEL")).toBe('"info"');
  });
});
