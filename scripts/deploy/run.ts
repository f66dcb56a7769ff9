/**
 * The deploy: look everything up first (read-only), print the plan, then — unless it is a dry run — create what
 * is missing and deploy, each step through wrangler with its output relayed. Every check that can fail (token,
 * settings, secrets, image) runs before the first change, so a refused run leaves the account as it was.
 *
 *   1. D1 databases, R2 buckets, Queues the configuration binds: created when missing (by name: a second run
 *      finds them and creates nothing);
 *   2. the configuration for wrangler, derived from the committed one (config.ts);
 *   3. remote D1 migrations (`wrangler d1 migrations apply --remote`: only the pending ones);
 *   4. the Worker and its container (`wrangler deploy`), with the secrets it lacks generated and uploaded in the
 *      same version (`--secrets-file`, a private temporary file removed afterwards); kept ones are never re-sent.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleTooLarge, formatBundleSize, measureBundle } from "./bundle-size.ts";
import * as cf from "./cloudflare.ts";
import { type SourceConfig, deriveConfig, imageIsDockerfile, readSourceConfig, resourcesOf, writeConfig } from "./config.ts";
import type { DeployOptions } from "./options.ts";
import { SECRET_NAMES, type SecretAction, planSecrets, secretScrubber } from "./secrets.ts";
import { type Setting, resolveBackend, resolvePublicUrl } from "./settings.ts";
import { indent } from "./wrangler.ts";

export class DeployError extends Error {}

/** A refusal explained by its message (bad configuration or setting): reported without a stack. */
function refused<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new DeployError((err as Error).message);
  }
}

export interface Output {
  line(text: string): void;
}

interface Plan {
  account: cf.Account;
  source: SourceConfig;
  d1: { binding: string; name: string; table: string; migrationsDir: string; id: string | undefined; pending: string[] }[];
  buckets: { name: string; exists: boolean }[];
  queues: { name: string; exists: boolean }[];
  workerExists: boolean;
  publicUrl: Setting;
  backend: Setting;
  image: { kind: "dockerfile"; path: string } | { kind: "registry"; ref: string };
  secrets: SecretAction[];
}

/**
 * The lines of wrangler's output that say what happened (created, applied, uploaded, deployed, warnings); its
 * tables, config snippets and prompt fallbacks are left out. A failing command's whole output is in its error.
 */
const RELAYED = [
  /^(✅|✨|Uploaded |Deployed |Current Version ID|Total Upload|Worker Startup Time|Building image|Pushing|Image )/,
  /^(https?:\/\/|schedule:|Producer for|Consumer for)/,
  /(SUCCESS|NEW |EDIT |no changes |No changes to be made|Applied changes)/,
  /(WARNING|ERROR)/,
];
const NOT_RELAYED = [/WARNING\] Processing .* configuration:$/];

/** The line without wrangler's box-drawing margin, or undefined when it is not worth relaying. */
function worthRelaying(raw: string): string | undefined {
  const line = raw.replace(/^[\s│├╰╭└┌]+/, "").trim();
  return line !== "" && RELAYED.some((re) => re.test(line)) && !NOT_RELAYED.some((re) => re.test(line)) ? line : undefined;
}

function migrationFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

/** Whether a Docker engine answers (wrangler's own check before it builds an image). */
function dockerAvailable(env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(env.WRANGLER_DOCKER_BIN || "docker", ["info"], { stdio: "ignore", env, timeout: 30_000 });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

/** The account: CLOUDFLARE_ACCOUNT_ID, else the configuration's `account_id`, else the only one the token reaches. */
async function chooseAccount(env: NodeJS.ProcessEnv, configured: string | undefined): Promise<cf.Account> {
  if (!env.CLOUDFLARE_API_TOKEN) {
    throw new DeployError(
      "CLOUDFLARE_API_TOKEN is not set. Create an API token (dashboard: My Profile → API Tokens, template \"Edit " +
        "Cloudflare Workers\" plus D1, R2 and Containers edit permissions) and run CLOUDFLARE_API_TOKEN=… npm run deploy",
    );
  }
  const accounts = await cf.whoami();
  if (accounts === null) throw new DeployError("Cloudflare refused CLOUDFLARE_API_TOKEN (wrangler whoami: not authenticated)");
  const chosen = env.CLOUDFLARE_ACCOUNT_ID || configured;
  if (chosen) return accounts.find((a) => a.id === chosen) ?? { id: chosen, name: "" };
  if (accounts.length === 1) return accounts[0]!;
  if (accounts.length === 0) throw new DeployError("the API token reaches no account: set CLOUDFLARE_ACCOUNT_ID");
  throw new DeployError(
    `the API token reaches ${accounts.length} accounts; choose one with CLOUDFLARE_ACCOUNT_ID=<id>:\n` +
      accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n"),
  );
}

async function lookUp(options: DeployOptions, env: NodeJS.ProcessEnv, work: string, out: Output): Promise<Plan> {
  const source = refused(() => readSourceConfig(options.config));
  const account = await chooseAccount(env, source.raw.account_id);
  out.line(`Account: ${account.id}${account.name ? ` (${account.name})` : ""}`);
  const resources = resourcesOf(source.raw);
  const lookupConfig = path.join(work, "lookup", "wrangler.json");
  const derive = (d1Ids: ReadonlyMap<string, string>) =>
    writeConfig(
      lookupConfig,
      deriveConfig(source, lookupConfig, { accountId: account.id, d1Ids, vars: {}, image: options.image, requiredSecrets: SECRET_NAMES }),
    );
  derive(new Map());

  out.line("Looking up the account's resources…");
  const [d1Ids, buckets, queues, secrets, deployed, subdomain] = await Promise.all([
    cf.listD1(lookupConfig),
    Promise.all(resources.buckets.map(async (name) => ({ name, exists: await cf.bucketExists(lookupConfig, name) }))),
    Promise.all(resources.queues.map(async (name) => ({ name, exists: await cf.queueExists(lookupConfig, name) }))),
    cf.secretNames(lookupConfig),
    cf.deployedVars(env, account.id, source.raw.name),
    cf.workersDevSubdomain(env, account.id),
  ]);

  derive(d1Ids);
  const d1 = await Promise.all(
    (source.raw.d1_databases ?? []).map(async (db) => {
      const id = d1Ids.get(db.database_name);
      const table = db.migrations_table ?? "d1_migrations";
      const migrationsDir = path.resolve(path.dirname(source.path), db.migrations_dir ?? "migrations");
      const applied = new Set(id ? await cf.appliedMigrations(lookupConfig, db.binding, table) : []);
      return { binding: db.binding, name: db.database_name, table, migrationsDir, id, pending: migrationFiles(migrationsDir).filter((m) => !applied.has(m)) };
    }),
  );

  // Every problem found before the first change is reported at once.
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const vars = source.raw.vars ?? {};
  const configured = (name: string) => (typeof vars[name] === "string" ? (vars[name] as string) : undefined);
  const workersDev = subdomain ? `https://${source.raw.name}.${subdomain}.workers.dev` : null;
  const publicUrl = attempt(() =>
    resolvePublicUrl({ environment: env.HUB_PUBLIC_URL, configuration: configured("HUB_PUBLIC_URL"), deployed: deployed?.get("HUB_PUBLIC_URL") }, workersDev),
  );
  const backend = attempt(() =>
    resolveBackend({ environment: env.HUB_BACKEND, configuration: configured("HUB_BACKEND"), deployed: deployed?.get("HUB_BACKEND") }),
  );

  const container = source.raw.containers?.[0];
  let image: Plan["image"];
  if (options.image) image = { kind: "registry", ref: options.image };
  else if (container && imageIsDockerfile(source, container.image)) image = { kind: "dockerfile", path: container.image };
  else image = { kind: "registry", ref: container?.image ?? "" };
  if (container && image.kind === "dockerfile" && !(await dockerAvailable(env))) {
    problems.push(
      `the converter image is built from ${image.path} by wrangler, which needs Docker, and no Docker engine answers ` +
        "here (docker info). Deploy from a machine with Docker, or push the image from one and pass it: " +
        "npm run deploy -- --image registry.cloudflare.com/<account id>/zos-hub-converter:<tag> (docs/self-hosting.md)",
    );
  }

  const secretActions = attempt(() => planSecrets(secrets ?? new Set(), env, options.rotate));
  for (const name of SECRET_NAMES) {
    if (secrets?.has(name) && env[name] && !options.rotate.has(name)) {
      out.line(`Note: ${name} is set in the environment but the Worker already has it: kept (--rotate ${name} replaces it)`);
    }
  }
  if (problems.length > 0 || !publicUrl || !backend || !secretActions) {
    throw new DeployError(`nothing was changed:\n${problems.map((p) => `  - ${p.replace(/\n/g, "\n    ")}`).join("\n")}`);
  }
  return { account, source, d1, buckets, queues, workerExists: secrets !== null, publicUrl, backend, image, secrets: secretActions };
}

function printPlan(plan: Plan, out: Output): void {
  const rows: [string, string][] = [];
  for (const db of plan.d1) rows.push([`D1 database ${db.name}`, db.id ? `exists (${db.id})` : "create"]);
  for (const b of plan.buckets) rows.push([`R2 bucket ${b.name}`, b.exists ? "exists" : "create"]);
  for (const q of plan.queues) rows.push([`Queue ${q.name}`, q.exists ? "exists" : "create"]);
  for (const db of plan.d1) {
    const list = db.pending.length > 3 ? `${db.pending.slice(0, 3).join(", ")}, … ${db.pending.at(-1)}` : db.pending.join(", ");
    rows.push([`Migrations of ${db.name}`, db.pending.length === 0 ? "up to date" : `apply ${db.pending.length}: ${list}`]);
  }
  for (const s of plan.secrets) {
    const what = s.action === "keep" ? "kept" : `${s.rotated ? "rotate" : "set"}, ${s.source === "generated" ? "generated" : "from the environment"}`;
    rows.push([`Secret ${s.name}`, what]);
  }
  rows.push(["HUB_PUBLIC_URL", `${plan.publicUrl.value} (${plan.publicUrl.source})`]);
  rows.push(["HUB_BACKEND", `${plan.backend.value} (${plan.backend.source})`]);
  rows.push(["Converter image", plan.image.kind === "dockerfile" ? `build ${plan.image.path} (Docker), push to Cloudflare's registry` : plan.image.ref]);
  rows.push([`Worker ${plan.source.raw.name}`, plan.workerExists ? "deploy a new version" : "first deploy"]);
  const width = Math.max(...rows.map(([k]) => k.length));
  out.line("Plan:");
  for (const [k, v] of rows) out.line(`  ${k.padEnd(width)}  ${v}`);
}

function derivedConfig(plan: Plan, file: string, d1Ids: ReadonlyMap<string, string>, options: DeployOptions): Record<string, unknown> {
  return deriveConfig(plan.source, file, {
    accountId: plan.account.id,
    d1Ids,
    vars: { HUB_PUBLIC_URL: plan.publicUrl.value, HUB_BACKEND: plan.backend.value },
    image: options.image,
    requiredSecrets: SECRET_NAMES,
  });
}

async function dryRun(plan: Plan, options: DeployOptions, work: string, out: Output): Promise<void> {
  const file = path.join(work, "dry-run", "wrangler.json");
  const ids = new Map(plan.d1.flatMap((db) => (db.id ? [[db.name, db.id] as const] : [])));
  writeConfig(file, derivedConfig(plan, file, ids, options));
  out.line("Checking the bundle (wrangler deploy --dry-run)…");
  const outdir = path.join(work, "dry-run", "bundle");
  await cf.deployDryRun(file, outdir, {});
  const size = measureBundle(outdir);
  out.line(formatBundleSize(size));
  const tooLarge = bundleTooLarge(size);
  if (tooLarge) out.line(`Warning: ${tooLarge}`);
  out.line("Dry run: nothing was changed. Run `npm run deploy` without --dry-run to apply the plan.");
}

async function apply(plan: Plan, options: DeployOptions, env: NodeJS.ProcessEnv, work: string, out: Output): Promise<void> {
  const token = env.CLOUDFLARE_API_TOKEN ?? "";
  const scrubSecrets = secretScrubber(plan.secrets);
  const scrub = (t: string) => (token ? scrubSecrets(t).split(token).join("***") : scrubSecrets(t));
  const run = {
    onLine: (raw: string) => {
      const line = worthRelaying(raw);
      if (line !== undefined) out.line(indent(line));
    },
    scrub,
  };
  const lookupConfig = path.join(work, "lookup", "wrangler.json");
  const steps: [string, () => Promise<void>][] = [];
  let d1Ids = new Map(plan.d1.flatMap((db) => (db.id ? [[db.name, db.id] as const] : [])));

  for (const db of plan.d1.filter((d) => !d.id)) steps.push([`Creating D1 database ${db.name}`, () => cf.createD1(lookupConfig, db.name, run)]);
  for (const b of plan.buckets.filter((x) => !x.exists)) steps.push([`Creating R2 bucket ${b.name}`, () => cf.createBucket(lookupConfig, b.name, run)]);
  for (const q of plan.queues.filter((x) => !x.exists)) steps.push([`Creating Queue ${q.name}`, () => cf.createQueue(lookupConfig, q.name, run)]);
  steps.push([
    `Writing ${path.relative(process.cwd(), options.out) || options.out}`,
    async () => {
      if (plan.d1.some((db) => !db.id)) d1Ids = await cf.listD1(lookupConfig);
      const missing = plan.d1.filter((db) => !d1Ids.has(db.name));
      if (missing.length > 0) throw new DeployError(`D1 database ${missing[0]!.name} not found after creating it`);
      writeConfig(options.out, derivedConfig(plan, options.out, d1Ids, options));
    },
  ]);
  for (const db of plan.d1) {
    if (db.pending.length === 0) continue;
    steps.push([
      `Applying ${db.pending.length} D1 migration(s) to ${db.name}`,
      async () => {
        await cf.applyMigrations(options.out, db.binding, run);
        out.line(`    applied ${db.pending.join(", ")}`);
      },
    ]);
  }
  const toSet = plan.secrets.filter((s) => s.action === "set");
  steps.push([
    `Deploying Worker ${plan.source.raw.name}${toSet.length ? ` with ${toSet.map((s) => s.name).join(", ")}` : ""}`,
    async () => {
      let secretsFile: string | undefined;
      if (toSet.length > 0) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zos-hub-secrets-"));
        secretsFile = path.join(dir, "secrets.json");
        fs.writeFileSync(secretsFile, JSON.stringify(Object.fromEntries(toSet.map((s) => [s.name, s.value]))), { mode: 0o600 });
      }
      try {
        await cf.deployWorker(options.out, secretsFile, run);
      } finally {
        if (secretsFile) fs.rmSync(path.dirname(secretsFile), { recursive: true, force: true });
      }
    },
  ]);

  for (const [i, [title, action]] of steps.entries()) {
    out.line(`[${i + 1}/${steps.length}] ${title}`);
    await action();
  }
  out.line(`Deployed: ${plan.publicUrl.value}`);
}

/** `env` is the caller's environment (wrangler's children inherit the process's own: the same one in `main.ts`). */
export async function deploy(options: DeployOptions, env: NodeJS.ProcessEnv, out: Output): Promise<void> {
  out.line(`zos-hub deploy${options.dryRun ? " --dry-run (nothing is changed)" : ""}: ${path.relative(process.cwd(), options.config) || options.config}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "zos-hub-deploy-"));
  try {
    const plan = await lookUp(options, env, work, out);
    printPlan(plan, out);
    if (options.dryRun) await dryRun(plan, options, work, out);
    else await apply(plan, options, env, work, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
