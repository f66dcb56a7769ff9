/** The job spec the Worker posts to `POST /jobs` (docs/jobs-protocol.md "Converter endpoints"). */
import { z } from "zod";
import { nameProblem, refusal, repositoryProblem } from "../../../protocol/name-rule.ts";
import { CredentialsSchema } from "../oci/index.ts";

/**
 * The hub's name rule (protocol/name-rule.ts, the one the Worker applies): the converter re-checks the names it puts
 * in URLs and log lines. A job writes only into a repository a repository may be named (route words refused).
 */
const ruled = (problemOf: (value: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: refusal(value, problem) });
  });
const hubName = ruled(nameProblem);
const hubRepository = ruled(repositoryProblem);

/** A merge source; `sha256` pins the bytes the Worker resolved when the merge was requested. */
const source = z.object({ repository: hubName, name: hubName, sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256: 64 lower-case hex").optional() });

export const jobSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, "job id: letters, digits, '.', '_', '-'"),
    attempt: z.number().int().positive(),
    kind: z.literal("tar"),
    repository: hubRepository,
    name: hubName,
    metadata: z.record(z.string(), z.string()).default({}),
  }),
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("flist"),
    repository: hubRepository,
    name: hubName,
    metadata: z.record(z.string(), z.string()).optional(),
  }),
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("merge"),
    repository: hubRepository,
    name: hubName,
    metadata: z.record(z.string(), z.string()).optional(),
    sources: z.array(source).min(1).max(100),
  }),
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("docker"),
    repository: hubRepository,
    name: hubName,
    metadata: z.record(z.string(), z.string()).optional(),
    /** The image reference as the user typed it; the converter parses it (oci/reference.ts). */
    image: z.string().trim().min(1).max(1024),
    platform: z.string().trim().min(1).max(100).optional(),
    startupToml: z.boolean().optional(),
    /** Registry credentials for this attempt only: never logged, never in a message (jobs.ts scrubs them). */
    credentials: CredentialsSchema.optional(),
  }),
  // lxd (issue 7, service/lxd.ts): the flist `name` of `repository` as an LXD image; metadata pins its sha256.
  z.object({
    id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
    attempt: z.number().int().positive(),
    kind: z.literal("lxd"),
    repository: hubRepository,
    name: hubName,
    metadata: z.record(z.string(), z.string()).default({}),
  }),
]);

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type TarJob = Extract<JobSpec, { kind: "tar" }>;
export type FlistJob = Extract<JobSpec, { kind: "flist" }>;
export type MergeJob = Extract<JobSpec, { kind: "merge" }>;
export type DockerJob = Extract<JobSpec, { kind: "docker" }>;
export type LxdJob = Extract<JobSpec, { kind: "lxd" }>;

/** The values of a spec that must never appear in a log line or a message sent out (registry credentials). */
export function specSecrets(spec: JobSpec): string[] {
  if (spec.kind !== "docker" || !spec.credentials) return [];
  const c = spec.credentials;
  return "token" in c ? [c.token] : [c.password, encodeURIComponent(c.password), Buffer.from(`${c.username}:${c.password}`).toString("base64")];
}
