/** Typed views of the job and upload configuration (wrangler.toml `[vars]`), with their defaults. */
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

export const uploadConfig = {
  formMaxBytes: (env: Env) => positive(env.HUB_UPLOAD_FORM_MAX_BYTES, DEFAULT_FORM_MAX_BYTES),
  maxBytes: (env: Env) => positive(env.HUB_UPLOAD_MAX_BYTES, 10 * 1024 * 1024 * 1024),
  // The largest value a 512 KiB piece can become (snappy's worst case + XXTEA's length word): what the
  // converter accepts (converter/src/chunks/transform.ts MAX_STORED_SIZE).
  chunkMaxBytes: (env: Env) => positive(env.HUB_CHUNK_MAX_BYTES, 611_708),
};
