/** The job spec the Worker posts to `POST /jobs`: the contract's schema (protocol/job-spec.ts), shared with the Worker. */
import type { JobSpec } from "../../../protocol/job-spec.ts";

export { jobSpecSchema } from "../../../protocol/job-spec.ts";
export type { DockerJob, FlistJob, JobSpec, LxdJob, MergeJob, TarJob } from "../../../protocol/job-spec.ts";

/** The values of a spec that must never appear in a log line or a message sent out (registry credentials). */
export function specSecrets(spec: JobSpec): string[] {
  if (spec.kind !== "docker" || !spec.credentials) return [];
  const c = spec.credentials;
  return "token" in c ? [c.token] : [c.password, encodeURIComponent(c.password), Buffer.from(`${c.username}:${c.password}`).toString("base64")];
}
