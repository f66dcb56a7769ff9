/**
 * The job spec the Worker posts to the converter's `POST /jobs` (docs/jobs-protocol.md "Converter endpoints"),
 * one schema per kind. The Worker builds a `JobSpecInput` (worker/src/jobs/dispatch.ts); the converter parses
 * it with `jobSpecSchema` (converter/src/service/server.ts): one object, so a field added on one side and not
 * the other is a compile error.
 */
import { z } from "zod";
import { nameProblem, refusal, repositoryProblem } from "./name-rule.ts";

/** Registry credentials of a docker job: basic credentials or a bearer token. */
export const credentialsSchema = z.union([
  z.object({ username: z.string().min(1).max(1024), password: z.string().min(1).max(8192) }).strict(),
  z.object({ token: z.string().min(1).max(16384) }).strict(),
]);
export type Credentials = z.infer<typeof credentialsSchema>;

/**
 * The hub's name rule (name-rule.ts): the converter re-checks the names it puts in URLs and log lines. A job
 * writes only into a repository a repository may be named (route words refused).
 */
const ruled = (problemOf: (value: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: refusal(value, problem) });
  });
const hubName = ruled(nameProblem);
const hubRepository = ruled(repositoryProblem);

const jobId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, "job id: letters, digits, '.', '_', '-'");
const attempt = z.number().int().positive();
const metadata = z.record(z.string(), z.string());

/** A merge source; `sha256` pins the bytes the Worker resolved when the merge was requested. */
export const mergeSourceSchema = z.object({
  repository: hubName,
  name: hubName,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256: 64 lower-case hex").optional(),
});

export const jobSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    id: jobId,
    attempt,
    kind: z.literal("tar"),
    repository: hubRepository,
    name: hubName,
    /** The upload's `metadata-<key>` fields, protected keys already removed (metadata.ts). */
    metadata: metadata.default({}),
  }),
  z.object({
    id: jobId,
    attempt,
    kind: z.literal("flist"),
    repository: hubRepository,
    name: hubName,
    metadata: metadata.optional(),
  }),
  z.object({
    id: jobId,
    attempt,
    kind: z.literal("merge"),
    repository: hubRepository,
    name: hubName,
    metadata: metadata.optional(),
    /** First = base. */
    sources: z.array(mergeSourceSchema).min(1).max(100),
  }),
  z.object({
    id: jobId,
    attempt,
    kind: z.literal("docker"),
    repository: hubRepository,
    name: hubName,
    metadata: metadata.optional(),
    /** The image reference as the user typed it; the converter parses it (converter/src/oci/reference.ts). */
    image: z.string().trim().min(1).max(1024),
    /** `linux/arm64`, `linux/arm/v7`; the converter's default is linux/amd64. */
    platform: z.string().trim().min(1).max(100).optional(),
    startupToml: z.boolean().optional(),
    /** Registry credentials for this attempt only: never logged, never in a message. */
    credentials: credentialsSchema.optional(),
  }),
  // The flist `name` of `repository` as an LXD image; metadata pins its name and sha256.
  z.object({
    id: jobId,
    attempt,
    kind: z.literal("lxd"),
    repository: hubRepository,
    name: hubName,
    metadata: metadata.default({}),
  }),
]);

/** The spec as the converter holds it, parsed. */
export type JobSpec = z.output<typeof jobSpecSchema>;
/** The spec as the Worker sends it. */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type JobKind = JobSpec["kind"];
export type TarJob = Extract<JobSpec, { kind: "tar" }>;
export type FlistJob = Extract<JobSpec, { kind: "flist" }>;
export type MergeJob = Extract<JobSpec, { kind: "merge" }>;
export type DockerJob = Extract<JobSpec, { kind: "docker" }>;
export type LxdJob = Extract<JobSpec, { kind: "lxd" }>;

/**
 * A streamed upload's `tar` job carries its spec in this header (base64url of the spec JSON) and its archive as
 * the body, of the size in `INPUT_SIZE_HEADER` (docs/jobs-protocol.md "Streamed uploads").
 */
export const INLINE_SPEC_HEADER = "X-Job-Spec";
export const INPUT_SIZE_HEADER = "X-Input-Size";
