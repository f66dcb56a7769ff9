/**
 * What the docker route/job hands the converter, validated with zod, and the HTTP status for each failure, so
 * `POST /api/flist/me/docker` answers consistently (docs/compatibility.md §7: clear 4xx for bad input, nothing published).
 *
 * Credentials are part of the request only: whoever carries this object must not persist it (job rows, event
 * logs, R2 staging in clear) nor log it.
 */
import { z } from "zod";
import { IngestError } from "../ingest/rules.ts";
import { CredentialsSchema } from "./auth.ts";
import { RegistryError, type RegistryErrorCode } from "./errors.ts";

export const DockerRequestSchema = z
  .object({
    /** As typed by the user: `ubuntu:22.04`, `ghcr.io/org/app:v1`, `app@sha256:…`. */
    image: z.string().trim().min(1).max(1024),
    /** `linux/arm64`, `linux/arm/v7`; default linux/amd64. */
    platform: z.string().trim().min(1).max(100).optional(),
    /** Write `/.startup.toml` as the original hub did. */
    startupToml: z.boolean().optional(),
    credentials: CredentialsSchema.optional(),
  })
  .strict();
export type DockerRequest = z.infer<typeof DockerRequestSchema>;

const STATUS: Record<RegistryErrorCode, number> = {
  "invalid-reference": 400,
  "no-matching-platform": 400,
  unsupported: 400,
  "authentication-required": 401,
  unauthorized: 401,
  denied: 403,
  "registry-not-allowed": 403,
  "unknown-image": 404,
  "unknown-tag": 404,
  "rate-limited": 429,
  "bad-layer": 422,
  "bad-manifest": 502,
  "digest-mismatch": 502,
  "registry-error": 502,
  unreachable: 502,
};

/**
 * HTTP status for a failed conversion: the image or the request is at fault → 4xx; the registry misbehaves → 502;
 * a layer breaking the archive rules (traversal, caps…) → 422; anything else (store down, bugs) → 500.
 */
export function conversionErrorStatus(err: unknown): number {
  if (err instanceof RegistryError) return STATUS[err.code];
  if (err instanceof IngestError) return 422;
  return 500;
}
