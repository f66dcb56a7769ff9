/** The job spec the Worker posts to `POST /jobs` (docs/jobs-protocol.md "Converter endpoints"). */
import { z } from "zod";

/** The hub's name rules (hub-api.md §3, as the Worker applies them): the converter re-checks what it uses in URLs. */
const hubName = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= 255, "longer than 255 bytes")
  .refine((s) => s !== "." && s !== ".." && !s.includes("/") && !/[\u0000-\u001f\u007f]/.test(s), "not a valid name");

/** A merge source; `sha256` pins the bytes the Worker resolved when the merge was requested. */
const source = z.object({ repository: hubName, name: hubName, sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256: 64 lower-case hex").optional() });

export const jobSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, "job id: letters, digits, '.', '_', '-'"),
    attempt: z.number().int().positive(),
    kind: z.literal("tar"),
    repository: hubName,
    name: hubName,
    metadata: z.record(z.string(), z.string()).default({}),
  }),
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("flist"),
    repository: hubName,
    name: hubName,
    metadata: z.record(z.string(), z.string()).optional(),
  }),
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("merge"),
    repository: hubName,
    name: hubName,
    metadata: z.record(z.string(), z.string()).optional(),
    sources: z.array(source).min(1).max(100),
  }),
]);

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type TarJob = Extract<JobSpec, { kind: "tar" }>;
export type FlistJob = Extract<JobSpec, { kind: "flist" }>;
export type MergeJob = Extract<JobSpec, { kind: "merge" }>;
