/**
 * The converter's configuration, from the environment (docs/jobs-protocol.md "Configuration"; same names locally
 * and in production). Validated once at start-up so a typo fails with one clear message instead of a broken job
 * later. Secrets are never part of an error message: only the variable's name is.
 */
import { z } from "zod";
import { parseBackend, type BackendSpec, type IngestCaps } from "../ingest/index.ts";
import { type RegistryPolicy, registryPolicyFromEnv } from "../oci/index.ts";
import { parseStoreUrl, redactUrl } from "../store/index.ts";
import { type LogLevel, parseLogLevel } from "../../../protocol/logging.ts";

export interface ConverterConfig {
  /** `HUB_LOG_LEVEL`: lines below it are not written (docs/operations.md "Logs"). */
  logLevel: LogLevel;
  /** Base URL of the Worker as the converter reaches it, without a trailing slash. */
  hubUrl: string;
  /** Chunk store URL (may hold a password: never log it, use `storeDescription`). */
  chunkStore: string;
  storeDescription: string;
  /** Public `host:port[/namespace]` written into every created flist. */
  backend: BackendSpec;
  backendText: string;
  internalSecret: string;
  host: string;
  port: number;
  /** Jobs converting at once in this instance; more wait in a bounded queue. */
  concurrency: number;
  /** Jobs accepted but not started yet, at most; beyond that `POST /jobs` answers 503 and the Worker retries. */
  queueLimit: number;
  /** Worker threads of each job's chunk pipeline (undefined: the pipeline's default, one per core). */
  threads: number | undefined;
  /**
   * Limits of a tar upload and of all of an image's layers (converter/src/ingest/rules.ts; the engine's defaults for
   * what is not set): `CONVERTER_MAX_EXPANDED_BYTES`, `CONVERTER_MAX_ENTRIES`, `CONVERTER_MAX_DEPTH`,
   * `CONVERTER_MAX_NAME_BYTES`, `CONVERTER_MAX_PATH_BYTES`.
   */
  caps: Partial<IngestCaps>;
  /**
   * Test knob (`CONVERTER_TEST_INPUT_BYTES_PER_SECOND`, never set in production): read a tar job's input no faster
   * than this, to prove that a converter slower than the hub still gets every byte.
   */
  testInputBytesPerSecond: number | undefined;
  /**
   * docker jobs: registries allowed/denied, Docker Hub mirror, plain-HTTP registries, non-public addresses allowed
   * (`HUB_REGISTRY_ALLOW`, `HUB_REGISTRY_DENY`, `HUB_DOCKERHUB_MIRROR`, `HUB_INSECURE_REGISTRIES`,
   * `HUB_OUTBOUND_ALLOW`; converter/src/oci/policy.ts, docs/outbound.md).
   */
  registryPolicy: RegistryPolicy;
}

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a positive integer`)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n > 0, `${name} must be a positive integer`);

const schema = z.object({
  HUB_URL: z
    .string({ error: "HUB_URL is required (the Worker's base URL, e.g. http://127.0.0.1:8787)" })
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === "http:" || u.protocol === "https:") && !u.search && !u.hash;
      } catch {
        return false;
      }
    }, "HUB_URL must be an http(s) URL without query or fragment"),
  HUB_CHUNK_STORE: z
    .string({ error: "HUB_CHUNK_STORE is required (zdb://…, redis://… or file:///…)" })
    .superRefine((v, ctx) => {
      try {
        parseStoreUrl(v);
      } catch (err) {
        // parseStoreUrl's messages use the redacted URL only.
        ctx.addIssue({ code: "custom", message: `HUB_CHUNK_STORE: ${(err as Error).message}` });
      }
    }),
  HUB_BACKEND: z
    .string({ error: "HUB_BACKEND is required (public host:port[/namespace] written into flists)" })
    .superRefine((v, ctx) => {
      try {
        parseBackend(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `HUB_BACKEND: ${(err as Error).message}` });
      }
    }),
  INTERNAL_SECRET: z
    .string({ error: "INTERNAL_SECRET is required (the bearer secret shared with the Worker)" })
    .min(16, "INTERNAL_SECRET must be at least 16 characters"),
  // 0 = any free port (tests); the address is printed at start-up.
  CONVERTER_PORT: z
    .string()
    .default("8788")
    .refine((v) => /^\d+$/.test(v) && Number(v) <= 65535, "CONVERTER_PORT must be a port number (0..65535)")
    .transform(Number),
  CONVERTER_HOST: z.string().min(1).default("0.0.0.0"),
  CONVERTER_CONCURRENCY: z.string().default("2").pipe(positiveInt("CONVERTER_CONCURRENCY")),
  CONVERTER_QUEUE_LIMIT: z.string().default("64").pipe(positiveInt("CONVERTER_QUEUE_LIMIT")),
  CONVERTER_THREADS: positiveInt("CONVERTER_THREADS").optional(),
  CONVERTER_MAX_EXPANDED_BYTES: positiveInt("CONVERTER_MAX_EXPANDED_BYTES").optional(),
  CONVERTER_MAX_ENTRIES: positiveInt("CONVERTER_MAX_ENTRIES").optional(),
  CONVERTER_MAX_DEPTH: positiveInt("CONVERTER_MAX_DEPTH").optional(),
  CONVERTER_MAX_NAME_BYTES: positiveInt("CONVERTER_MAX_NAME_BYTES").optional(),
  CONVERTER_MAX_PATH_BYTES: positiveInt("CONVERTER_MAX_PATH_BYTES").optional(),
  CONVERTER_TEST_INPUT_BYTES_PER_SECOND: positiveInt("CONVERTER_TEST_INPUT_BYTES_PER_SECOND").optional(),
  HUB_LOG_LEVEL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const level = parseLogLevel(v);
      if (level) return level;
      ctx.addIssue({ code: "custom", message: `HUB_LOG_LEVEL must be debug, info, warn or error, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and checks the configuration; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConverterConfig {
  // Empty variables count as unset (a blank line in an env file should not mean "the empty string").
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.message}`);
    throw new ConfigError(`invalid converter configuration:\n${problems.join("\n")}`);
  }
  const v = parsed.data;
  let registryPolicy: RegistryPolicy;
  try {
    registryPolicy = registryPolicyFromEnv(present);
  } catch (err) {
    throw new ConfigError(`invalid converter configuration:\n  - ${(err as Error).message}`);
  }
  return {
    hubUrl: v.HUB_URL.replace(/\/+$/, ""),
    chunkStore: v.HUB_CHUNK_STORE,
    storeDescription: redactUrl(v.HUB_CHUNK_STORE),
    backend: parseBackend(v.HUB_BACKEND),
    backendText: v.HUB_BACKEND,
    internalSecret: v.INTERNAL_SECRET,
    host: v.CONVERTER_HOST,
    port: v.CONVERTER_PORT,
    concurrency: v.CONVERTER_CONCURRENCY,
    queueLimit: v.CONVERTER_QUEUE_LIMIT,
    threads: v.CONVERTER_THREADS,
    caps: definedOnly({
      maxExpandedBytes: v.CONVERTER_MAX_EXPANDED_BYTES,
      maxEntries: v.CONVERTER_MAX_ENTRIES,
      maxDepth: v.CONVERTER_MAX_DEPTH,
      maxNameBytes: v.CONVERTER_MAX_NAME_BYTES,
      maxPathBytes: v.CONVERTER_MAX_PATH_BYTES,
    }),
    testInputBytesPerSecond: v.CONVERTER_TEST_INPUT_BYTES_PER_SECOND,
    registryPolicy,
    logLevel: v.HUB_LOG_LEVEL,
  };
}

/** The caps that are set: the others keep the engine's defaults. */
function definedOnly(caps: { [K in keyof IngestCaps]: number | undefined }): Partial<IngestCaps> {
  return Object.fromEntries(Object.entries(caps).filter(([, value]) => value !== undefined)) as Partial<IngestCaps>;
}
