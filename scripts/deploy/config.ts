/**
 * The configuration the deploy hands to wrangler: the committed production file (wrangler.production.toml), read
 * by wrangler's own parser, with what only the account knows filled in — the account id, the D1 database ids, the
 * settings the operator gave (HUB_PUBLIC_URL, HUB_BACKEND), a prebuilt converter image — and the hub's secrets
 * declared required (wrangler then refuses a deploy that would leave one unset, and sends the kept ones as
 * "inherit" bindings). It is written as JSON under `.wrangler/` (git-ignored) and rebuilt on every run, so the
 * committed file never holds account ids and there is no local state to lose: each run looks everything up again.
 */
import fs from "node:fs";
import path from "node:path";
import { experimental_readRawConfig as readRawConfig } from "wrangler";
import { z } from "zod";

/** The parts of a wrangler configuration the deploy reads or rewrites; everything else passes through untouched. */
const rawConfigSchema = z.looseObject({
  name: z.string().min(1, "the configuration needs a Worker name"),
  main: z.string().min(1, "the configuration needs `main`"),
  account_id: z.string().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  d1_databases: z
    .array(z.looseObject({ binding: z.string(), database_name: z.string(), database_id: z.string().optional(), migrations_dir: z.string().optional(), migrations_table: z.string().optional() }))
    .optional(),
  r2_buckets: z.array(z.looseObject({ binding: z.string(), bucket_name: z.string() })).optional(),
  queues: z
    .looseObject({
      producers: z.array(z.looseObject({ queue: z.string() })).optional(),
      consumers: z.array(z.looseObject({ queue: z.string() })).optional(),
    })
    .optional(),
  build: z.looseObject({ command: z.string().optional(), cwd: z.string().optional(), watch_dir: z.union([z.string(), z.array(z.string())]).optional() }).optional(),
  containers: z.array(z.looseObject({ class_name: z.string(), image: z.string(), image_build_context: z.string().optional() })).optional(),
});

export type RawConfig = z.infer<typeof rawConfigSchema>;

/** Keys holding paths this derivation does not rebase: refused rather than silently broken. */
const UNSUPPORTED_PATH_KEYS = ["assets", "site", "tsconfig", "base_dir", "alias", "wasm_modules", "text_blobs", "data_blobs", "env"];

export interface SourceConfig {
  /** Absolute path of the committed file. */
  path: string;
  raw: RawConfig;
}

export function readSourceConfig(configPath: string): SourceConfig {
  const absolute = path.resolve(configPath);
  if (!fs.existsSync(absolute)) throw new Error(`no wrangler configuration at ${configPath}`);
  const { rawConfig } = readRawConfig({ config: absolute }) as { rawConfig: unknown };
  const parsed = rawConfigSchema.safeParse(rawConfig);
  if (!parsed.success) {
    throw new Error(`${configPath}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const unsupported = UNSUPPORTED_PATH_KEYS.filter((key) => key in parsed.data);
  if (unsupported.length > 0) throw new Error(`${configPath}: the deploy script does not handle ${unsupported.join(", ")} yet`);
  return { path: absolute, raw: parsed.data };
}

/** The D1 databases, R2 buckets and Queues the configuration binds (each name once). */
export function resourcesOf(raw: RawConfig): { d1: { binding: string; name: string }[]; buckets: string[]; queues: string[] } {
  const queues = [...(raw.queues?.producers ?? []), ...(raw.queues?.consumers ?? [])].map((q) => q.queue);
  return {
    d1: (raw.d1_databases ?? []).map((db) => ({ binding: db.binding, name: db.database_name })),
    buckets: [...new Set((raw.r2_buckets ?? []).map((b) => b.bucket_name))],
    queues: [...new Set(queues)],
  };
}

/** Whether a container's `image` names a Dockerfile (wrangler builds it) rather than a registry image. */
export function imageIsDockerfile(source: SourceConfig, image: string): boolean {
  return fs.existsSync(path.resolve(path.dirname(source.path), image));
}

export interface Derivation {
  accountId: string;
  /** D1 database name → id; a database missing here (dry run before it exists) keeps no id. */
  d1Ids: ReadonlyMap<string, string>;
  /** `[vars]` values replacing the committed ones. */
  vars: Readonly<Record<string, string>>;
  /** A prebuilt converter image for every container, instead of building its Dockerfile. */
  image?: string;
  requiredSecrets: readonly string[];
}

/** The configuration wrangler gets, as it will be written to `outFile` (paths made relative to that file). */
export function deriveConfig(source: SourceConfig, outFile: string, d: Derivation): Record<string, unknown> {
  const from = path.dirname(source.path);
  const to = path.dirname(path.resolve(outFile));
  const rebase = (p: string) => path.relative(to, path.resolve(from, p)) || ".";
  const raw = structuredClone(source.raw);
  const config: Record<string, unknown> = {
    ...raw,
    account_id: d.accountId,
    main: rebase(raw.main),
    vars: { ...raw.vars, ...d.vars },
    secrets: { required: [...d.requiredSecrets] },
  };
  if (raw.d1_databases) {
    config.d1_databases = raw.d1_databases.map((db) => {
      const { database_id: _placeholder, ...rest } = db;
      const id = d.d1Ids.get(db.database_name);
      return { ...rest, ...(id ? { database_id: id } : {}), migrations_dir: rebase(db.migrations_dir ?? "migrations") };
    });
  }
  if (raw.build) {
    // wrangler runs the build command in `cwd` as given (relative to its own working directory) and resolves
    // `watch_dir` against the configuration file, so the command's directory becomes absolute here.
    const watch = raw.build.watch_dir;
    config.build = {
      ...raw.build,
      cwd: path.resolve(from, raw.build.cwd ?? "."),
      ...(watch === undefined ? {} : { watch_dir: Array.isArray(watch) ? watch.map(rebase) : rebase(watch) }),
    };
  }
  if (raw.containers) {
    config.containers = raw.containers.map((c) => {
      if (d.image) {
        const { image_build_context: _context, ...rest } = c;
        return { ...rest, image: d.image };
      }
      if (!imageIsDockerfile(source, c.image)) return c;
      return { ...c, image: rebase(c.image), image_build_context: rebase(c.image_build_context ?? path.dirname(c.image)) };
    });
  }
  return config;
}

export function writeConfig(outFile: string, config: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(config, null, 2)}\n`);
}
