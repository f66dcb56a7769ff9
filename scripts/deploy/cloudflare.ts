/**
 * What the deploy asks of the Cloudflare account, each through the wrangler command that does it (the JSON output
 * where wrangler has one). Two read-only look-ups wrangler prints nowhere go to the API directly, with the same
 * token and base URL wrangler uses: the account's workers.dev subdomain (the hub's default public URL) and the
 * deployed Worker's variables (so a setting given once need not be given again).
 */
import { z } from "zod";
import { type RunOptions, WranglerError, runWrangler, stripAnsi } from "./wrangler.ts";

const DEFAULT_API = "https://api.cloudflare.com/client/v4";

export interface Account {
  id: string;
  name: string;
}

const whoamiSchema = z.object({
  loggedIn: z.boolean(),
  authType: z.string().optional(),
  accounts: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
});

function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  // wrangler may print notices before the JSON document.
  const start = text.search(/^[[{]/m);
  let value: unknown;
  try {
    value = JSON.parse(start >= 0 ? text.slice(start) : text);
  } catch {
    throw new Error(`${what}: wrangler printed no JSON:\n${text.slice(0, 2000)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${what}: unexpected answer from wrangler: ${parsed.error.message}`);
  return parsed.data;
}

/** The accounts the credentials reach; null when wrangler is not authenticated. */
export async function whoami(): Promise<Account[] | null> {
  const args = ["whoami", "--json"];
  const result = await runWrangler(args, { allowFailure: true });
  if (!/^[[{]/m.test(result.stdout)) {
    // A token the API refuses: wrangler reports the failed verification instead of printing JSON.
    if (result.code !== 0 && /Authentication error|\[code: (10000|9106|9109)\]/.test(stripAnsi(result.stderr))) return null;
    throw new WranglerError(args, result, (t) => t);
  }
  const answer = parseJson(whoamiSchema, result.stdout, "wrangler whoami");
  if (!answer.loggedIn) return null;
  if (result.code !== 0) throw new WranglerError(args, result, (t) => t);
  return answer.accounts ?? [];
}

const d1ListSchema = z.array(z.looseObject({ uuid: z.string(), name: z.string() }));

/** D1 database name → id, for every database of the account. */
export async function listD1(config: string): Promise<Map<string, string>> {
  const { stdout } = await runWrangler(["d1", "list", "--json", "-c", config]);
  return new Map(parseJson(d1ListSchema, stdout, "wrangler d1 list").map((db) => [db.name, db.uuid]));
}

export async function createD1(config: string, name: string, run: RunOptions): Promise<void> {
  await runWrangler(["d1", "create", name, "-c", config], run);
}

export async function bucketExists(config: string, name: string): Promise<boolean> {
  try {
    await runWrangler(["r2", "bucket", "info", name, "--json", "-c", config]);
    return true;
  } catch (err) {
    // R2's "The specified bucket does not exist."
    if (err instanceof WranglerError && /\[code: 10006\]/.test(err.output)) return false;
    throw err;
  }
}

export async function createBucket(config: string, name: string, run: RunOptions): Promise<void> {
  await runWrangler(["r2", "bucket", "create", name, "-c", config], run);
}

export async function queueExists(config: string, name: string): Promise<boolean> {
  try {
    const { stdout } = await runWrangler(["queues", "info", name, "-c", config]);
    return new RegExp(`^Queue Name: ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m").test(stdout);
  } catch (err) {
    if (err instanceof WranglerError && /Queue ".*" does not exist/.test(err.output)) return false;
    throw err;
  }
}

export async function createQueue(config: string, name: string, run: RunOptions): Promise<void> {
  await runWrangler(["queues", "create", name, "-c", config], run);
}

const secretListSchema = z.array(z.object({ name: z.string(), type: z.string() }));

/** Names of the Worker's secrets; null when the Worker does not exist yet. */
export async function secretNames(config: string): Promise<Set<string> | null> {
  try {
    const { stdout } = await runWrangler(["secret", "list", "--format", "json", "-c", config]);
    return new Set(parseJson(secretListSchema, stdout, "wrangler secret list").map((s) => s.name));
  } catch (err) {
    if (err instanceof WranglerError && /Worker ".*" not found/.test(err.output)) return null;
    throw err;
  }
}

const d1ExecuteSchema = z.array(z.looseObject({ results: z.array(z.looseObject({ name: z.string() })) }));

/** Names of the migrations recorded in the remote database's migrations table (none when it has no such table). */
export async function appliedMigrations(config: string, binding: string, table: string): Promise<string[]> {
  const args = ["d1", "execute", binding, "--remote", "--json", "--command", `SELECT name FROM ${table} ORDER BY id`, "-c", config];
  try {
    const { stdout } = await runWrangler(args);
    return parseJson(d1ExecuteSchema, stdout, "wrangler d1 execute").flatMap((r) => r.results.map((row) => row.name));
  } catch (err) {
    // A database no migration was ever applied to has no migrations table yet.
    if (err instanceof WranglerError && /no such table/.test(err.output)) return [];
    throw err;
  }
}

export async function applyMigrations(config: string, binding: string, run: RunOptions): Promise<void> {
  await runWrangler(["d1", "migrations", "apply", binding, "--remote", "-c", config], run);
}

/** `wrangler deploy`, the new secrets (if any) uploaded with the Worker in the same version. */
export async function deployWorker(config: string, secretsFile: string | undefined, run: RunOptions): Promise<string> {
  const { stdout } = await runWrangler(["deploy", "-c", config, ...(secretsFile ? ["--secrets-file", secretsFile] : [])], run);
  return stdout;
}

/** `wrangler deploy --dry-run`: bundles the Worker into `outdir` (and builds a Dockerfile image), uploads nothing. */
export async function deployDryRun(config: string, outdir: string, run: RunOptions): Promise<string> {
  const { stdout } = await runWrangler(["deploy", "--dry-run", "--outdir", outdir, "-c", config], run);
  return stdout;
}

/** A read-only GET of the API; null for a 404 (the thing does not exist). */
async function apiGet(env: NodeJS.ProcessEnv, path: string): Promise<unknown> {
  const base = (env.CLOUDFLARE_API_BASE_URL || DEFAULT_API).replace(/\/+$/, "");
  const res = await fetch(`${base}${path}`, {
    headers: { Authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN ?? ""}` },
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => null)) as { success?: boolean; result?: unknown; errors?: { code: number; message: string }[] } | null;
  if (res.status === 404) return null;
  if (!res.ok || !body?.success) {
    const why = body?.errors?.map((e) => `${e.message} [code: ${e.code}]`).join("; ") || `HTTP ${res.status}`;
    throw new Error(`GET ${path}: ${why}`);
  }
  return body.result;
}

/** The account's workers.dev subdomain (`<worker>.<subdomain>.workers.dev`); null when none is registered. */
export async function workersDevSubdomain(env: NodeJS.ProcessEnv, accountId: string): Promise<string | null> {
  const result = z.object({ subdomain: z.string() }).nullable().parse(await apiGet(env, `/accounts/${accountId}/workers/subdomain`));
  return result?.subdomain || null;
}

/** The plain-text variables of the deployed Worker; null when it does not exist yet. */
export async function deployedVars(env: NodeJS.ProcessEnv, accountId: string, worker: string): Promise<Map<string, string> | null> {
  const schema = z.object({ bindings: z.array(z.looseObject({ type: z.string(), name: z.string(), text: z.string().optional() })) }).nullable();
  const settings = schema.parse(await apiGet(env, `/accounts/${accountId}/workers/scripts/${encodeURIComponent(worker)}/settings`));
  if (!settings) return null;
  return new Map(settings.bindings.flatMap((b) => (b.type === "plain_text" && b.text !== undefined ? [[b.name, b.text] as const] : [])));
}
