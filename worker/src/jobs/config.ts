/** Typed views of the job and upload configuration (wrangler.toml `[vars]`), with their defaults. */
import { MAX_CHUNK_BYTES } from "../../../protocol/chunks";
import type { Env } from "../env";

/** A positive integer variable; a missing, empty or malformed value falls back to the default. */
function positive(raw: string | undefined, fallback: number): number {
  const value = (raw ?? "").trim();
  if (!/^\d+$/.test(value)) return fallback;
  const n = Number(value);
  return n > 0 && Number.isSafeInteger(n) ? n : fallback;
}

export const jobConfig = {
  leaseSeconds: (env: Env) => positive(env.HUB_JOB_LEASE_SECONDS, 60),
  maxAttempts: (env: Env) => positive(env.HUB_JOB_MAX_ATTEMPTS, 3),
  retentionDays: (env: Env) => positive(env.HUB_JOB_RETENTION_DAYS, 30),
  converterUrl: (env: Env) => ((env.HUB_CONVERTER_URL ?? "").trim() || "http://127.0.0.1:8788").replace(/\/+$/, ""),
};

/** Cloudflare refuses request bodies over 100 MB on the smallest plans; the form route is parsed in memory. */
export const DEFAULT_FORM_MAX_BYTES = 100 * 1024 * 1024;
/** R2 single-object uploads stop at 5 GiB; above it only the resumable (multipart) protocol works. */
export const R2_SINGLE_PUT_MAX_BYTES = 5 * 1024 * 1024 * 1024;
/** R2 multipart: every part but the last at least 5 MiB; a part must fit in one request body. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 95 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** Under the 100 MB request-body limit of Cloudflare's smallest plans, whether it counts MB or MiB. */
export const DEFAULT_REQUEST_MAX_BYTES = 95 * 1024 * 1024;

export const uploadConfig = {
  formMaxBytes: (env: Env) => positive(env.HUB_UPLOAD_FORM_MAX_BYTES, DEFAULT_FORM_MAX_BYTES),
  maxBytes: (env: Env) => positive(env.HUB_UPLOAD_MAX_BYTES, 10 * 1024 * 1024 * 1024),
  requestMaxBytes: (env: Env) => positive(env.HUB_REQUEST_MAX_BYTES, DEFAULT_REQUEST_MAX_BYTES),
  /** The largest part of the resumable protocol: one request body (never below R2's 5 MiB minimum). */
  partMaxBytes: (env: Env) => Math.max(MIN_PART_SIZE, Math.min(MAX_PART_SIZE, uploadConfig.requestMaxBytes(env))),
  /** The largest archive of the streamed PUT: one request body, one R2 object write, within the upload cap. */
  streamedMaxBytes: (env: Env) => Math.min(uploadConfig.maxBytes(env), R2_SINGLE_PUT_MAX_BYTES, uploadConfig.requestMaxBytes(env)),
  // The largest value a 512 KiB piece can become (snappy's worst case + XXTEA's length word): what the
  // converter accepts (protocol/chunks.ts).
  chunkMaxBytes: (env: Env) => positive(env.HUB_CHUNK_MAX_BYTES, MAX_CHUNK_BYTES),
};
