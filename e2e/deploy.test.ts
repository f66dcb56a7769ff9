/**
 * `npm run deploy` (scripts/deploy/) against a local stand-in of the Cloudflare API (e2e/support/cloudflare-api.ts):
 * the real script runs the real wrangler, pointed at the stand-in with CLOUDFLARE_API_BASE_URL, on the committed
 * wrangler.production.toml. The stand-in keeps state in memory (D1 databases are real SQLite databases), so the
 * tests check what a run left on the "account": resources, migrations, secrets, the Worker, its container.
 *
 * The converter image is passed prebuilt (--image): building converter/Dockerfile needs Docker, which this machine
 * has not (the refusal without it is tested). The files run one after another and share one account.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/devvars.ts";
import { type CloudflareStandIn, type StandInScript, startCloudflareStandIn } from "./support/cloudflare-api.ts";

const MIGRATIONS = fs
  .readdirSync(path.join(ROOT, "migrations"))
  .filter((f) => f.endsWith(".sql"))
  .sort();
const CHUNK_STORE = "zdb://:chunk-store-password-7f3a@10.1.2.3:9900/hub";
const BACKEND = "zdb.hub.test:9900/hub";

let api: CloudflareStandIn;
let work: string;
let image: string;
let out: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run deploy -- <args>` as an operator runs it, with only the given environment (no developer credentials). */
function deploy(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: path.join(work, "home"),
    // wrangler's own state (logs, login) in the test's directory: no login of the machine is used.
    XDG_CONFIG_HOME: path.join(work, "xdg"),
    TMPDIR: os.tmpdir(),
    CLOUDFLARE_API_BASE_URL: api.url,
    CLOUDFLARE_API_TOKEN: api.token,
    // No Docker engine, whatever the machine has.
    WRANGLER_DOCKER_BIN: path.join(work, "no-docker"),
    HUB_BACKEND: BACKEND,
    HUB_CHUNK_STORE: CHUNK_STORE,
  };
  const merged = Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts", "deploy", "main.ts"), "--out", out, ...args],
      { cwd: ROOT, env: merged, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function worker(): StandInScript {
  const found = api.scripts.get("zos-hub");
  if (!found) throw new Error("no Worker zos-hub on the stand-in");
  return found;
}

function secretValues(): Map<string, string> {
  return new Map(worker().bindings.filter((b) => b.type === "secret_text").map((b) => [String(b.name), String(b.text)]));
}

function plainVar(name: string): unknown {
  return worker().bindings.find((b) => b.type === "plain_text" && b.name === name)?.text;
}

/** What the calls since `from` created or changed, as `METHOD path` (account id elided). */
function mutationsSince(from: number): string[] {
  const since = new Set(api.calls.slice(from));
  return api
    .mutations()
    .filter((c) => since.has(c))
    .map((c) => `${c.method} ${c.path.replace(`/accounts/${api.account.id}`, "")}`);
}

function expectNoSecretIn(run: Run, values: Iterable<string>): void {
  for (const value of values) {
    expect(run.stdout).not.toContain(value);
    expect(run.stderr).not.toContain(value);
  }
}

beforeAll(async () => {
  api = await startCloudflareStandIn();
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-deploy-test-"));
  out = path.join(work, "generated", "wrangler.json");
  image = `registry.cloudflare.com/${api.account.id}/zos-hub-converter:test-1`;
});

afterAll(async () => {
  await api?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

describe("npm run deploy refuses before changing anything", () => {
  it("without CLOUDFLARE_API_TOKEN: says which variable and how to get one, calls no API", async () => {
    const run = await deploy(["--image", image], { CLOUDFLARE_API_TOKEN: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/CLOUDFLARE_API_TOKEN is not set\. Create an API token/);
    expect(api.calls).toEqual([]);
  });

  it("with a token Cloudflare refuses: says so", async () => {
    const run = await deploy(["--image", image], { CLOUDFLARE_API_TOKEN: "not-the-token" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Cloudflare refused CLOUDFLARE_API_TOKEN/);
    expect(api.mutations()).toEqual([]);
  });

  it("lists every missing piece at once (no Docker and no --image, no HUB_BACKEND, no HUB_CHUNK_STORE)", async () => {
    const from = api.calls.length;
    const run = await deploy([], { HUB_BACKEND: undefined, HUB_CHUNK_STORE: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/nothing was changed:/);
    expect(run.stderr).toMatch(/HUB_BACKEND is unknown: give the public address Zero-OS nodes read chunks from/);
    expect(run.stderr).toMatch(/built from \.\/converter\/Dockerfile by wrangler, which needs Docker.*--image registry\.cloudflare\.com/s);
    expect(run.stderr).toMatch(/HUB_CHUNK_STORE is not set on the Worker: give it in the environment/);
    expect(mutationsSince(from)).toEqual([]);
    expect(api.unknown).toEqual([]);
  });

  it("a bad HUB_CHUNK_STORE is refused without echoing its password", async () => {
    const run = await deploy(["--dry-run", "--image", image], { HUB_CHUNK_STORE: "zdb://:pw-should-not-show@host:notaport/hub" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/HUB_CHUNK_STORE \(from the environment\) invalid chunk store URL/);
    expect(run.stderr + run.stdout).not.toContain("pw-should-not-show");
  });
});

describe("npm run deploy on an empty account", () => {
  it("--dry-run prints the plan and the bundle size, and changes nothing", async () => {
    const from = api.calls.length;
    const run = await deploy(["--dry-run", "--image", image]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}D1 database zos-hub +create$/m);
    expect(run.stdout).toMatch(/^ {2}R2 bucket zos-hub-flists +create$/m);
    expect(run.stdout).toMatch(/^ {2}Queue zos-hub-jobs +create$/m);
    expect(run.stdout).toMatch(/^ {2}Queue zos-hub-downloads +create$/m);
    expect(run.stdout).toMatch(new RegExp(`^ {2}Migrations of zos-hub +apply ${MIGRATIONS.length}: ${MIGRATIONS[0]}`, "m"));
    expect(run.stdout).toMatch(/^ {2}Secret HUB_SIGNING_SEED +set, generated$/m);
    expect(run.stdout).toMatch(/^ {2}Secret HUB_CHUNK_STORE +set, from the environment$/m);
    expect(run.stdout).toMatch(new RegExp(`^ {2}HUB_PUBLIC_URL +https://zos-hub\\.${api.subdomain}\\.workers\\.dev \\(workers\\.dev\\)$`, "m"));
    expect(run.stdout).toMatch(/^ {2}Worker zos-hub +first deploy$/m);
    expect(run.stdout).toMatch(/^Worker bundle [\d.]+ KiB \/ gzip [\d.]+ KiB — limits: gzip 3 MiB Workers Free/m);
    expect(run.stdout).toMatch(/Dry run: nothing was changed/);
    expect(mutationsSince(from)).toEqual([]);
    expect([api.d1.size, api.buckets.size, api.queues.size, api.scripts.size, api.containerApps.length]).toEqual([0, 0, 0, 0, 0]);
    expect(fs.existsSync(out)).toBe(false);
    expectNoSecretIn(run, [CHUNK_STORE, "chunk-store-password-7f3a"]);
  });

  it("a first run creates the D1 database, R2 bucket and Queue, applies the migrations, uploads the Worker with generated secrets", async () => {
    const run = await deploy(["--image", image]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(api.unknown).toEqual([]);

    // Resources, by the names of wrangler.production.toml.
    const [db] = [...api.d1.values()];
    expect(db?.name).toBe("zos-hub");
    expect([...api.buckets.keys()]).toEqual(["zos-hub-flists"]);
    expect([...api.queues.keys()]).toEqual(["zos-hub-jobs", "zos-hub-downloads"]);

    // The migrations really ran on the database, each recorded once.
    const applied = db!.sqlite.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as { name: string }[];
    expect(applied.map((r) => r.name)).toEqual(MIGRATIONS);
    const tables = (db!.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(["repositories", "blobs"]));

    // The Worker: bindings to what was created, the settings given, the container's Durable Object class.
    const w = worker();
    const byName = new Map(w.bindings.map((b) => [b.name, b]));
    expect(byName.get("DB")).toMatchObject({ type: "d1", id: db!.uuid });
    expect(byName.get("FLISTS")).toMatchObject({ type: "r2_bucket", bucket_name: "zos-hub-flists" });
    expect(byName.get("JOBS")).toMatchObject({ type: "queue", queue_name: "zos-hub-jobs" });
    expect(byName.get("DOWNLOADS")).toMatchObject({ type: "queue", queue_name: "zos-hub-downloads" });
    expect(byName.get("CONVERTER")).toMatchObject({ type: "durable_object_namespace", class_name: "Converter" });
    expect(byName.get("HUB_ANALYTICS")).toMatchObject({ type: "analytics_engine", dataset: "zos_hub_requests" });
    expect(plainVar("HUB_LOG_LEVEL")).toBe("info");
    expect(plainVar("HUB_BACKEND")).toBe(BACKEND);
    expect(plainVar("HUB_PUBLIC_URL")).toBe(`https://zos-hub.${api.subdomain}.workers.dev`);
    expect(w.modules.find((m) => m.name === "index.js")?.size).toBeGreaterThan(100_000);
    expect(w.schedules).toEqual([{ cron: "* * * * *" }]);
    expect(w.workersDev).toBe(true);
    expect(api.queues.get("zos-hub-jobs")?.consumers).toEqual([
      expect.objectContaining({ script: "zos-hub", settings: expect.objectContaining({ batch_size: 1, max_retries: 5 }) }),
    ]);
    // Download counts: batches of up to 100 downloads, one D1 statement each (worker/src/counts/consume.ts).
    expect(api.queues.get("zos-hub-downloads")?.consumers).toEqual([
      expect.objectContaining({ script: "zos-hub", settings: expect.objectContaining({ batch_size: 100, max_retries: 10 }) }),
    ]);

    // Secrets: generated in the formats the Worker checks, the chunk store as given.
    const secrets = secretValues();
    expect([...secrets.keys()].sort()).toEqual(["HUB_CHUNK_STORE", "HUB_SIGNING_SEED", "HUB_TFCONNECT_PRIVATE_KEY", "INTERNAL_SECRET"]);
    expect(secrets.get("HUB_SIGNING_SEED")).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.get("INTERNAL_SECRET")!.length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(secrets.get("HUB_TFCONNECT_PRIVATE_KEY")!, "base64")).toHaveLength(32);
    expect(secrets.get("HUB_CHUNK_STORE")).toBe(CHUNK_STORE);

    // The container application: the prebuilt image, bound to the Worker's Durable Object namespace, sized.
    const [app] = api.containerApps;
    expect(app).toMatchObject({
      name: "zos-hub-converter",
      max_instances: 4,
      configuration: expect.objectContaining({ image, vcpu: 1, memory_mib: 6144, disk: { size_mb: 12000 } }),
      durable_objects: { namespace_id: w.durableObjectNamespaces.find((ns) => ns.class === "Converter")?.id },
    });

    // Each step printed; no secret value anywhere in the output nor in the configuration written for wrangler.
    expect(run.stdout).toMatch(/^\[1\/\d+\] Creating D1 database zos-hub$/m);
    expect(run.stdout).toMatch(new RegExp(`^\\[\\d+/\\d+\\] Applying ${MIGRATIONS.length} D1 migration\\(s\\) to zos-hub$`, "m"));
    expect(run.stdout).toMatch(/^\[\d+\/\d+\] Deploying Worker zos-hub with HUB_SIGNING_SEED, INTERNAL_SECRET, HUB_TFCONNECT_PRIVATE_KEY, HUB_CHUNK_STORE$/m);
    expect(run.stdout).toMatch(new RegExp(`^Deployed: https://zos-hub\\.${api.subdomain}\\.workers\\.dev$`, "m"));
    expectNoSecretIn(run, secrets.values());
    const generated = fs.readFileSync(out, "utf8");
    for (const value of secrets.values()) expect(generated).not.toContain(value);
    expect(JSON.parse(generated)).toMatchObject({ account_id: api.account.id, d1_databases: [expect.objectContaining({ database_id: db!.uuid })] });
  });

  it("a second run creates nothing and keeps every secret", async () => {
    const before = secretValues();
    const versions = worker().versions.length;
    const from = api.calls.length;
    // Settings found on the deployed Worker: HUB_BACKEND need not be given again.
    const run = await deploy(["--image", image], { HUB_BACKEND: undefined, HUB_CHUNK_STORE: undefined });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}D1 database zos-hub +exists/m);
    expect(run.stdout).toMatch(/^ {2}Migrations of zos-hub +up to date$/m);
    expect(run.stdout).toMatch(/^ {2}Secret INTERNAL_SECRET +kept$/m);
    expect(run.stdout).toMatch(/^ {2}HUB_BACKEND +zdb\.hub\.test:9900\/hub \(deployed Worker\)$/m);
    // Only the Worker's new version and its triggers are sent again; nothing is created, no migration runs.
    const changes = mutationsSince(from);
    expect(changes.filter((c) => !/^(PUT \/workers\/scripts\/zos-hub|POST \/workers\/scripts\/zos-hub\/subdomain|PUT \/workers\/scripts\/zos-hub\/schedules|PUT \/queues\/\w+\/consumers\/\w+)$/.test(c))).toEqual([]);
    expect(changes).toContain("PUT /workers/scripts/zos-hub");
    expect([api.d1.size, api.buckets.size, api.queues.size, api.containerApps.length]).toEqual([1, 1, 2, 1]);
    expect(worker().versions.length).toBe(versions + 1);
    expect(secretValues()).toEqual(before);
    expect(api.unknown).toEqual([]);
  });

  it("an upgrade applies only the new migration; --rotate gives one secret a new value", async () => {
    // The same production configuration with one more migration, as a later version of the hub would ship it.
    const upgrade = path.join(work, "upgrade");
    fs.mkdirSync(path.join(upgrade, "migrations"), { recursive: true });
    for (const m of MIGRATIONS) fs.copyFileSync(path.join(ROOT, "migrations", m), path.join(upgrade, "migrations", m));
    fs.writeFileSync(path.join(upgrade, "migrations", "9999_upgrade_test.sql"), "CREATE TABLE upgrade_test (id INTEGER PRIMARY KEY);\n");
    const toml = fs
      .readFileSync(path.join(ROOT, "wrangler.production.toml"), "utf8")
      .replace(/^main = ".*"$/m, `main = ${JSON.stringify(path.join(ROOT, "worker/src/index.ts"))}`)
      .replace(/^image = "\.\/converter\/Dockerfile"$/m, `image = ${JSON.stringify(image)}`)
      .replace(/^image_build_context = .*$/m, "")
      .replace(/^\[build\]$/m, `[build]\ncwd = ${JSON.stringify(ROOT)}`);
    fs.writeFileSync(path.join(upgrade, "wrangler.production.toml"), toml);

    const before = secretValues();
    const from = api.calls.length;
    const run = await deploy(["--config", path.join(upgrade, "wrangler.production.toml"), "--rotate", "INTERNAL_SECRET"], { HUB_CHUNK_STORE: undefined });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}Migrations of zos-hub +apply 1: 9999_upgrade_test\.sql$/m);
    expect(run.stdout).toMatch(/^ {2}Secret INTERNAL_SECRET +rotate, generated$/m);
    const db = [...api.d1.values()][0]!;
    const applied = (db.sqlite.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as { name: string }[]).map((r) => r.name);
    expect(applied).toEqual([...MIGRATIONS, "9999_upgrade_test.sql"]);
    expect(db.sqlite.prepare("SELECT count(*) AS n FROM upgrade_test").get()).toEqual({ n: 0 });

    const after = secretValues();
    expect(after.get("INTERNAL_SECRET")).not.toBe(before.get("INTERNAL_SECRET"));
    expect(after.get("INTERNAL_SECRET")!.length).toBeGreaterThanOrEqual(16);
    for (const name of ["HUB_SIGNING_SEED", "HUB_TFCONNECT_PRIVATE_KEY", "HUB_CHUNK_STORE"]) expect(after.get(name)).toBe(before.get(name));
    expectNoSecretIn(run, after.values());
    expect(mutationsSince(from).filter((c) => /^POST \/(d1\/database|r2\/buckets|queues|containers\/applications)$/.test(c))).toEqual([]);
    expect(api.unknown).toEqual([]);
  });
});
