/**
 * A local stand-in of the Cloudflare API (`https://api.cloudflare.com/client/v4`) for the deploy script's tests:
 * wrangler is pointed at it with `CLOUDFLARE_API_BASE_URL` and does the real work, this server answers only the
 * endpoints `npm run deploy` reaches through wrangler (whoami, D1, R2, Queues, Worker upload, secrets, subdomain,
 * cron schedules, queue consumers, Durable Object namespaces, container applications), in the API's envelope
 * `{success, errors, messages, result[, result_info]}`. State lives in memory; each D1 database is a real SQLite
 * database (better-sqlite3), so `wrangler d1 migrations apply --remote` really applies the migrations.
 *
 * Every request is recorded (`calls`); a request without the expected bearer token gets the API's authentication
 * error, and one this stand-in does not know is answered 404 and kept in `unknown` (tests assert it stays empty,
 * so a wrangler upgrade that calls something new fails loudly here instead of passing unnoticed).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";

export interface ApiCall {
  method: string;
  /** Path below the API base, e.g. `/accounts/<id>/d1/database`. */
  path: string;
  query: string;
  status: number;
}

export interface StandInD1 {
  uuid: string;
  name: string;
  created_at: string;
  sqlite: Database.Database;
}

export interface StandInScript {
  name: string;
  tag: string;
  migrationTag: string | undefined;
  /** Versions (one per upload), newest last, with the bindings each had. */
  versions: { id: string; bindings: Record<string, unknown>[] }[];
  created_on: string;
  modified_on: string;
  /** Uploads of the script (PUT), oldest first: their metadata as sent. */
  uploads: Record<string, unknown>[];
  /** Current bindings, secret values included (type `secret_text`, `text`). */
  bindings: Record<string, unknown>[];
  /** Module names and sizes of the last upload. */
  modules: { name: string; size: number }[];
  schedules: { cron: string }[];
  workersDev: boolean;
  previews: boolean;
  durableObjectNamespaces: { id: string; class: string }[];
}

export interface StandInContainerApp {
  id: string;
  name: string;
  created_at: string;
  [key: string]: unknown;
}

export interface CloudflareStandIn {
  /** For `CLOUDFLARE_API_BASE_URL`. */
  url: string;
  token: string;
  account: { id: string; name: string };
  /** The account's workers.dev subdomain (`<script>.<subdomain>.workers.dev`). */
  subdomain: string;
  calls: ApiCall[];
  /** Requests to endpoints the stand-in does not implement. */
  unknown: ApiCall[];
  d1: Map<string, StandInD1>;
  buckets: Map<string, { name: string; creation_date: string }>;
  queues: Map<string, StandInQueue>;
  scripts: Map<string, StandInScript>;
  containerApps: StandInContainerApp[];
  /** Calls that change something (every method but GET, except reading D1 queries and GraphQL). */
  mutations(): ApiCall[];
  stop(): Promise<void>;
}

export interface StandInQueue {
  queue_id: string;
  queue_name: string;
  created_on: string;
  modified_on: string;
  producers: { type: string; script: string }[];
  consumers: Record<string, unknown>[];
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown> | unknown[] | null;
interface Reply {
  result: Json;
  /** A GraphQL answer, sent as is (GraphQL has its own envelope). */
  graphql?: Record<string, unknown>;
  result_info?: Record<string, unknown>;
  status?: number;
}
interface Ctx {
  method: string;
  url: URL;
  params: string[];
  body: Buffer;
  contentType: string;
  /** Set by a handler whose request changed state although it is not a GET (or is a GET that writes). */
  mutated?: boolean;
}
type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

/** Container instance types (Cloudflare's "Instance types" table): vCPU, memory, disk. */
const INSTANCE_TYPES: Record<string, { vcpu: number; memory_mib: number; disk_mb: number }> = {
  lite: { vcpu: 0.0625, memory_mib: 256, disk_mb: 2000 },
  basic: { vcpu: 0.25, memory_mib: 1024, disk_mb: 4000 },
  "standard-1": { vcpu: 0.5, memory_mib: 4096, disk_mb: 8000 },
  "standard-2": { vcpu: 1, memory_mib: 6144, disk_mb: 12000 },
  "standard-3": { vcpu: 2, memory_mib: 8192, disk_mb: 16000 },
  "standard-4": { vcpu: 4, memory_mib: 12288, disk_mb: 20000 },
};

/** A binding as the API shows it: a secret's value is never returned. */
function visibleBinding(binding: Record<string, unknown>): Record<string, unknown> {
  if (binding.type !== "secret_text") return binding;
  const { text: _secret, ...visible } = binding;
  return visible;
}

const hex = (bytes: number) => crypto.randomBytes(bytes).toString("hex");
const now = () => new Date().toISOString();

function json(ctx: Ctx): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(ctx.body.toString("utf8") || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ApiError(400, 10001, "request body is not a JSON object");
}

async function form(ctx: Ctx): Promise<FormData> {
  if (!ctx.contentType.startsWith("multipart/form-data")) throw new ApiError(400, 10001, "expected multipart/form-data");
  return new Response(new Uint8Array(ctx.body), { headers: { "content-type": ctx.contentType } }).formData();
}

/**
 * One SQL text as D1's `/query` runs it, all or nothing: a single statement answers its rows; a script of several
 * (a migration file) runs as one, answering one result for the whole script — wrangler only checks `success`.
 */
function runD1Query(db: Database.Database, sql: string, params: unknown[]): { results: unknown[]; success: boolean; meta: Record<string, number> }[] {
  const started = performance.now();
  const meta = (rowsRead: number, rowsWritten: number) => ({
    duration: performance.now() - started,
    rows_read: rowsRead,
    rows_written: rowsWritten,
    changes: rowsWritten,
  });
  try {
    let stmt: Database.Statement | undefined;
    try {
      stmt = db.prepare(sql);
    } catch (err) {
      if (!/more than one statement/.test((err as Error).message)) throw err;
    }
    if (!stmt) {
      const before = db.prepare("SELECT total_changes() AS n").get() as { n: number };
      db.transaction(() => db.exec(sql))();
      const after = db.prepare("SELECT total_changes() AS n").get() as { n: number };
      return [{ results: [], success: true, meta: meta(0, after.n - before.n) }];
    }
    if (stmt.reader) {
      const rows = stmt.all(...params);
      return [{ results: rows, success: true, meta: meta(rows.length, 0) }];
    }
    const info = stmt.run(...params);
    return [{ results: [], success: true, meta: meta(0, info.changes) }];
  } catch (err) {
    throw new ApiError(400, 7500, `${(err as Error).message}: SQLITE_ERROR`);
  }
}

/** Changes to rows and schema so far: equal before and after a query that changed nothing. */
function d1Version(db: Database.Database): string {
  const changes = (db.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
  return `${changes}/${db.pragma("schema_version", { simple: true })}`;
}

export async function startCloudflareStandIn(options: { accountName?: string } = {}): Promise<CloudflareStandIn> {
  const token = hex(20);
  const account = { id: hex(16), name: options.accountName ?? "zos-hub test account" };
  const subdomain = "zos-hub-test";
  const calls: ApiCall[] = [];
  const unknown: ApiCall[] = [];
  const d1 = new Map<string, StandInD1>();
  const buckets = new Map<string, { name: string; creation_date: string }>();
  const queues = new Map<string, StandInQueue>();
  const scripts = new Map<string, StandInScript>();
  const containerApps: StandInContainerApp[] = [];
  const mutating = new Set<ApiCall>();

  const script = (name: string): StandInScript => {
    const found = scripts.get(name);
    if (!found) throw new ApiError(404, 10007, `This Worker does not exist on your account. [workers.api.error.script_not_found]`);
    return found;
  };
  const database = (id: string): StandInD1 => {
    const found = d1.get(id) ?? [...d1.values()].find((db) => db.name === id);
    if (!found) throw new ApiError(404, 7404, `The database ${id} could not be found`);
    return found;
  };
  const queueById = (id: string): StandInQueue => {
    const found = [...queues.values()].find((q) => q.queue_id === id);
    if (!found) throw new ApiError(404, 11000, "Queue does not exist");
    return found;
  };
  const listed = (items: unknown[], ctx: Ctx): Reply => {
    const page = Number(ctx.url.searchParams.get("page") ?? "1");
    const perPage = Number(ctx.url.searchParams.get("per_page") ?? "20");
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return { result: slice, result_info: { page, per_page: perPage, count: slice.length, total_count: items.length } };
  };
  const d1Info = (db: StandInD1) => ({
    uuid: db.uuid,
    name: db.name,
    created_at: db.created_at,
    version: "production",
    num_tables: (db.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n,
    file_size: 0,
  });

  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/user\/tokens\/verify$/, () => ({ result: { id: hex(16), status: "active" } })],
    ["GET", /^\/user$/, () => ({ result: { id: hex(16), email: "operator@example.org" } })],
    ["GET", /^\/memberships$/, (ctx) => listed([{ id: hex(16), account, status: "accepted" }], ctx)],
    ["GET", /^\/accounts$/, (ctx) => listed([account], ctx)],

    // GraphQL analytics (`wrangler r2 bucket info` asks for the bucket's storage metrics): no data yet.
    ["POST", /^\/graphql$/, () => ({ result: null, graphql: { data: { viewer: { accounts: [{ r2StorageAdaptiveGroups: [] }] } }, errors: null } })],

    // D1
    ["GET", /^\/accounts\/([^/]+)\/d1\/database$/, (ctx) => listed([...d1.values()].map(d1Info), ctx)],
    [
      "POST",
      /^\/accounts\/([^/]+)\/d1\/database$/,
      (ctx) => {
        const name = String(json(ctx).name ?? "");
        if (!name) throw new ApiError(400, 7400, "name is required");
        if ([...d1.values()].some((db) => db.name === name)) throw new ApiError(400, 7502, "A database with that name already exists");
        const db: StandInD1 = { uuid: crypto.randomUUID(), name, created_at: now(), sqlite: new Database(":memory:") };
        d1.set(db.uuid, db);
        return { result: { uuid: db.uuid, name: db.name, created_in_region: "WEUR" } };
      },
    ],
    ["GET", /^\/accounts\/([^/]+)\/d1\/database\/([^/]+)$/, (ctx) => ({ result: d1Info(database(ctx.params[1]!)) })],
    [
      "POST",
      /^\/accounts\/([^/]+)\/d1\/database\/([^/]+)\/query$/,
      (ctx) => {
        const body = json(ctx);
        const db = database(ctx.params[1]!);
        const before = d1Version(db.sqlite);
        const results = runD1Query(db.sqlite, String(body.sql ?? ""), Array.isArray(body.params) ? body.params : []);
        // A query is a change when it changed rows or the schema (`CREATE TABLE IF NOT EXISTS` of an existing one is not).
        if (d1Version(db.sqlite) !== before) ctx.mutated = true;
        return { result: results };
      },
    ],

    // R2
    ["GET", /^\/accounts\/([^/]+)\/r2\/buckets$/, () => ({ result: { buckets: [...buckets.values()] } })],
    [
      "POST",
      /^\/accounts\/([^/]+)\/r2\/buckets$/,
      (ctx) => {
        const name = String(json(ctx).name ?? "");
        if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) throw new ApiError(400, 10005, "The specified bucket name is not valid.");
        if (buckets.has(name)) throw new ApiError(409, 10004, "The bucket you tried to create already exists, and you own it.");
        const bucket = { name, creation_date: now() };
        buckets.set(name, bucket);
        return { result: { name, creation_date: bucket.creation_date, location: "WEUR", storage_class: "Standard" } };
      },
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/r2\/buckets\/([^/]+)$/,
      (ctx) => {
        const bucket = buckets.get(ctx.params[1]!);
        if (!bucket) throw new ApiError(404, 10006, "The specified bucket does not exist.");
        return { result: { ...bucket, location: "WEUR", storage_class: "Standard" } };
      },
    ],

    // Queues
    [
      "GET",
      /^\/accounts\/([^/]+)\/queues$/,
      (ctx) => {
        const names = ctx.url.searchParams.getAll("name");
        const all = [...queues.values()].filter((q) => names.length === 0 || names.includes(q.queue_name));
        return listed(all.map(queueView), ctx);
      },
    ],
    [
      "POST",
      /^\/accounts\/([^/]+)\/queues$/,
      (ctx) => {
        const name = String(json(ctx).queue_name ?? "");
        if (!name) throw new ApiError(400, 11003, "queue_name is required");
        if (queues.has(name)) throw new ApiError(409, 11009, "A queue with this name already exists");
        const queue: StandInQueue = { queue_id: hex(16), queue_name: name, created_on: now(), modified_on: now(), producers: [], consumers: [] };
        queues.set(name, queue);
        return { result: queueView(queue) };
      },
    ],
    ["GET", /^\/accounts\/([^/]+)\/queues\/([^/]+)$/, (ctx) => ({ result: queueView(queueById(ctx.params[1]!)) })],
    [
      "POST",
      /^\/accounts\/([^/]+)\/queues\/([^/]+)\/consumers$/,
      (ctx) => {
        const queue = queueById(ctx.params[1]!);
        const body = json(ctx);
        const scriptName = String(body.script_name ?? "");
        if (!scripts.has(scriptName)) throw new ApiError(400, 11000, `Worker ${scriptName} does not exist`);
        if (queue.consumers.some((c) => c.script === scriptName)) throw new ApiError(409, 11004, "The Worker is already a consumer of this queue");
        const consumer = { ...body, script: scriptName, consumer_id: hex(16), type: "worker", created_on: now() };
        queue.consumers.push(consumer);
        return { result: consumer };
      },
    ],
    [
      "PUT",
      /^\/accounts\/([^/]+)\/queues\/([^/]+)\/consumers\/([^/]+)$/,
      (ctx) => {
        const queue = queueById(ctx.params[1]!);
        const index = queue.consumers.findIndex((c) => c.consumer_id === ctx.params[2]);
        if (index < 0) throw new ApiError(404, 11000, "Consumer does not exist");
        const consumer = { ...queue.consumers[index], ...json(ctx), consumer_id: ctx.params[2] };
        queue.consumers[index] = consumer;
        return { result: consumer };
      },
    ],

    // Workers
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/services\/([^/]+)$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        return {
          result: {
            id: found.name,
            default_environment: {
              environment: "production",
              created_on: found.created_on,
              modified_on: found.modified_on,
              script: { id: found.name, tag: found.tag, tags: [], last_deployed_from: "wrangler", created_on: found.created_on, modified_on: found.modified_on },
            },
            created_on: found.created_on,
            modified_on: found.modified_on,
          },
        };
      },
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/secrets$/,
      (ctx) => ({
        result: script(ctx.params[1]!)
          .bindings.filter((b) => b.type === "secret_text")
          .map((b) => ({ name: b.name, type: "secret_text" })),
      }),
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts$/,
      () => ({
        result: [...scripts.values()].map((w) => ({
          id: w.name,
          tag: w.tag,
          migration_tag: w.migrationTag,
          created_on: w.created_on,
          modified_on: w.modified_on,
        })),
      }),
    ],
    ["PUT", /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)$/, (ctx) => uploadScript(ctx, ctx.params[1]!)],
    ["GET", /^\/accounts\/([^/]+)\/workers\/subdomain$/, () => ({ result: { subdomain } })],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/subdomain$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        return { result: { enabled: found.workersDev, previews_enabled: found.previews } };
      },
    ],
    [
      "POST",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/subdomain$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        const body = json(ctx);
        if (typeof body.enabled === "boolean") found.workersDev = body.enabled;
        if (typeof body.previews_enabled === "boolean") found.previews = body.previews_enabled;
        return { result: { enabled: found.workersDev, previews_enabled: found.previews } };
      },
    ],
    [
      "PUT",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/schedules$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        const body: unknown = JSON.parse(ctx.body.toString("utf8"));
        if (!Array.isArray(body) || !body.every((s) => typeof s?.cron === "string")) throw new ApiError(400, 10001, "expected [{cron}]");
        found.schedules = body.map((s: { cron: string }) => ({ cron: s.cron }));
        return { result: { schedules: found.schedules.map((s) => ({ ...s, created_on: now(), modified_on: now() })) } };
      },
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/settings$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        const last = found.uploads.at(-1) ?? {};
        return {
          result: {
            bindings: found.bindings.map(visibleBinding),
            compatibility_date: last.compatibility_date,
            compatibility_flags: last.compatibility_flags ?? [],
            logpush: false,
            observability: last.observability ?? { enabled: false },
            tail_consumers: [],
            tags: [],
            placement: {},
            usage_model: "standard",
          },
        };
      },
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/deployments$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        const latest = found.versions.at(-1);
        const deployments = latest
          ? [{ id: latest.id, created_on: found.modified_on, source: "wrangler", strategy: "percentage", versions: [{ version_id: latest.id, percentage: 100 }] }]
          : [];
        return { result: { deployments } };
      },
    ],
    [
      "GET",
      /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/versions\/([^/]+)$/,
      (ctx) => {
        const found = script(ctx.params[1]!);
        const version = found.versions.find((v) => v.id.replace(/-/g, "") === ctx.params[2]!.replace(/-/g, ""));
        if (!version) throw new ApiError(404, 10225, "version not found");
        const bindings = version.bindings.map((b) => {
          const visible = visibleBinding(b);
          if (b.type !== "durable_object_namespace") return visible;
          const ns = found.durableObjectNamespaces.find((n) => n.class === b.class_name);
          return { ...visible, namespace_id: ns?.id };
        });
        return {
          result: {
            id: version.id,
            number: found.versions.indexOf(version) + 1,
            metadata: { created_on: found.modified_on, modified_on: found.modified_on, source: "wrangler", author_email: "operator@example.org" },
            resources: { bindings, script: { etag: hex(16), handlers: ["fetch", "queue", "scheduled"] }, script_runtime: {} },
          },
        };
      },
    ],

    // Containers (wrangler's containers client sends and expects the same envelope under /containers)
    [
      "GET",
      /^\/accounts\/([^/]+)\/containers\/applications$/,
      (ctx) => {
        const name = ctx.url.searchParams.get("name");
        return { result: containerApps.filter((app) => !name || app.name === name) };
      },
    ],
    [
      "POST",
      /^\/accounts\/([^/]+)\/containers\/applications$/,
      (ctx) => {
        const body = json(ctx);
        const name = String(body.name ?? "");
        if (containerApps.some((app) => app.name === name)) throw new ApiError(409, 1000, `application ${name} already exists`);
        const app: StandInContainerApp = {
          ...stored(body),
          id: crypto.randomUUID(),
          name,
          created_at: now(),
          version: 1,
          account_id: account.id,
        };
        containerApps.push(app);
        return { result: app };
      },
    ],
    [
      "PATCH",
      /^\/accounts\/([^/]+)\/containers\/applications\/([^/]+)$/,
      (ctx) => {
        const app = containerApps.find((a) => a.id === ctx.params[1]);
        if (!app) throw new ApiError(404, 1000, "application not found");
        Object.assign(app, stored(json(ctx)), { version: Number(app.version) + 1 });
        return { result: app };
      },
    ],
    [
      "POST",
      /^\/accounts\/([^/]+)\/containers\/applications\/([^/]+)\/rollouts$/,
      (ctx) => {
        const app = containerApps.find((a) => a.id === ctx.params[1]);
        if (!app) throw new ApiError(404, 1000, "application not found");
        const body = json(ctx);
        if (body.target_configuration) app.configuration = storedConfiguration(body.target_configuration as Record<string, unknown>);
        return { result: { id: crypto.randomUUID(), status: "progressing", created_at: now(), ...body } };
      },
    ],
  ];

  /**
   * A container application as the API keeps it: an `instance_type` becomes the sizes it stands for (what the real
   * API answers, so that wrangler's diff on the next deploy infers the type back and finds nothing to change).
   */
  function stored(body: Record<string, unknown>): Record<string, unknown> {
    const configuration = body.configuration as Record<string, unknown> | undefined;
    return configuration ? { ...body, configuration: storedConfiguration(configuration) } : body;
  }
  function storedConfiguration(configuration: Record<string, unknown>): Record<string, unknown> {
    const { instance_type: type, ...rest } = configuration;
    if (type === undefined) return configuration;
    const size = INSTANCE_TYPES[String(type)];
    if (!size) throw new ApiError(400, 1000, `unknown instance_type ${String(type)}`);
    return { ...rest, vcpu: size.vcpu, memory_mib: size.memory_mib, disk: { size_mb: size.disk_mb } };
  }

  /** PUT of a Worker: the multipart form wrangler deploy builds (metadata part + modules). */
  async function uploadScript(ctx: Ctx, name: string): Promise<Reply> {
    const data = await form(ctx);
    const metadataPart = data.get("metadata");
    if (typeof metadataPart !== "string" && !(metadataPart instanceof Blob)) throw new ApiError(400, 10021, "missing metadata part");
    const metadata = JSON.parse(typeof metadataPart === "string" ? metadataPart : await metadataPart.text()) as Record<string, unknown>;
    const previous = scripts.get(name);
    const old = previous?.bindings ?? [];
    // Secrets an upload does not name stay (what lets `wrangler deploy` leave them alone); `keep_bindings` keeps
    // other types too.
    const keep = new Set(["secret_text", ...(Array.isArray(metadata.keep_bindings) ? (metadata.keep_bindings as string[]) : [])]);
    const bindings: Record<string, unknown>[] = [];
    for (const binding of (metadata.bindings ?? []) as Record<string, unknown>[]) {
      if (binding.type === "inherit") {
        const inherited = old.find((b) => b.name === binding.name);
        if (!inherited) throw new ApiError(400, 10057, `inherit binding '${String(binding.name)}' is invalid: no such binding on the previous version`);
        bindings.push(inherited);
        continue;
      }
      if (binding.type === "d1" && ![...d1.values()].some((db) => db.uuid === binding.id)) {
        throw new ApiError(400, 10021, `binding ${String(binding.name)} of type d1 must have a valid \`id\` specified`);
      }
      if (binding.type === "r2_bucket" && !buckets.has(String(binding.bucket_name))) {
        throw new ApiError(400, 10085, `R2 bucket '${String(binding.bucket_name)}' not found`);
      }
      // Analytics Engine datasets need no creating (the first write does it), only a name.
      if (binding.type === "analytics_engine" && !/^[A-Za-z0-9_]+$/.test(String(binding.dataset ?? ""))) {
        throw new ApiError(400, 10021, `binding ${String(binding.name)} of type analytics_engine must have a valid \`dataset\``);
      }
      if (binding.type === "queue" && !queues.has(String(binding.queue_name))) {
        throw new ApiError(400, 11000, `Queue '${String(binding.queue_name)}' not found`);
      }
      bindings.push(binding);
    }
    for (const binding of old) {
      if (keep.has(String(binding.type)) && !bindings.some((b) => b.name === binding.name)) bindings.push(binding);
    }
    const modules: { name: string; size: number }[] = [];
    data.forEach((value, key) => {
      if (key !== "metadata" && value instanceof Blob) modules.push({ name: key, size: value.size });
    });
    if (!modules.some((m) => m.name === metadata.main_module)) throw new ApiError(400, 10021, "main_module is not one of the uploaded parts");
    type MigrationStep = { new_classes?: string[]; new_sqlite_classes?: string[] };
    const migrations = metadata.migrations as ({ old_tag?: string; new_tag?: string; steps?: MigrationStep[] } & MigrationStep) | undefined;
    if (migrations && migrations.old_tag !== previous?.migrationTag) {
      throw new ApiError(400, 10079, `migration old_tag ${String(migrations.old_tag)} does not match the script's tag ${String(previous?.migrationTag)}`);
    }
    const current: StandInScript = previous ?? {
      name,
      tag: hex(16),
      created_on: now(),
      modified_on: now(),
      uploads: [],
      bindings: [],
      modules: [],
      schedules: [],
      workersDev: false,
      previews: false,
      migrationTag: undefined,
      durableObjectNamespaces: [],
      versions: [],
    };
    const steps = migrations ? (migrations.steps ?? [migrations]) : [];
    for (const className of steps.flatMap((step) => [...(step.new_sqlite_classes ?? []), ...(step.new_classes ?? [])])) {
      if (!current.durableObjectNamespaces.some((ns) => ns.class === className)) {
        current.durableObjectNamespaces.push({ id: hex(16), class: className });
      }
    }
    if (migrations?.new_tag) current.migrationTag = migrations.new_tag;
    current.modified_on = now();
    current.uploads.push(metadata);
    current.bindings = bindings;
    current.modules = modules;
    const versionId = crypto.randomUUID();
    current.versions.push({ id: versionId, bindings });
    scripts.set(name, current);
    return {
      result: {
        id: name,
        etag: hex(16),
        deployment_id: versionId,
        created_on: current.created_on,
        modified_on: current.modified_on,
        startup_time_ms: 10,
        has_modules: true,
        usage_model: "standard",
        handlers: ["fetch", "queue", "scheduled"],
        migration_tag: current.migrationTag,
      },
    };
  }

  function queueView(q: StandInQueue) {
    return { ...q, producers_total_count: q.producers.length, consumers_total_count: q.consumers.length };
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? "/", "http://stand-in");
      const method = req.method ?? "GET";
      const path = url.pathname.replace(/^\/client\/v4/, "");
      const call: ApiCall = { method, path, query: url.search, status: 0 };
      calls.push(call);
      const send = (status: number, body: Record<string, unknown>) => {
        call.status = status;
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const fail = (status: number, code: number, message: string) =>
        send(status, { success: false, errors: [{ code, message }], messages: [], result: null });

      if (req.headers.authorization !== `Bearer ${token}`) return fail(400, 10000, "Authentication error");
      const accountPath = /^\/accounts\/([^/]+)/.exec(path);
      if (accountPath && accountPath[1] !== account.id) return fail(403, 10000, "Authentication error");

      const route = routes.find(([m, re]) => m === method && re.test(path));
      if (!route) {
        unknown.push(call);
        return fail(404, 7003, `No route for that URI (stand-in: ${method} ${path})`);
      }
      const ctx: Ctx = {
        method,
        url,
        params: (route[1].exec(path) ?? []).slice(1),
        body: Buffer.concat(chunks),
        contentType: String(req.headers["content-type"] ?? ""),
      };
      try {
        const reply = await route[2](ctx);
        // D1 queries and GraphQL are POSTs that read; a D1 query that wrote says so.
        if (method !== "GET" && !/\/query$|^\/graphql$/.test(path)) mutating.add(call);
        if (ctx.mutated) mutating.add(call);
        if (reply.graphql) return send(200, reply.graphql);
        send(reply.status ?? 200, {
          success: true,
          errors: [],
          messages: [],
          result: reply.result,
          ...(reply.result_info ? { result_info: reply.result_info } : {}),
        });
      } catch (err) {
        if (err instanceof ApiError) return fail(err.status, err.code, err.message);
        fail(500, 10013, `stand-in error: ${(err as Error).stack ?? err}`);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    token,
    account,
    subdomain,
    calls,
    unknown,
    d1,
    buckets,
    queues,
    scripts,
    containerApps,
    mutations: () => calls.filter((c) => mutating.has(c)),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const db of d1.values()) db.sqlite.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
