/**
 * Starting a docker conversion job, for the API route and the website's docker page alike: the request
 * is validated, the target name computed as the original hub did (docs/compatibility.md §2), the registry credentials
 * sealed for this job id (credentials.ts), then the job is created and queued like every other publishing job
 * (jobs/start.ts `startJob`). No input is staged: the converter pulls the image itself.
 */
import type { Actor, Env } from "../env";
import type { JobParams } from "../jobs/types";
import type { JobRow } from "../jobs/store";
import { startJob } from "../jobs/start";
import { sealCredentials } from "../jobs/credentials";
import { checkReference, dockerFlistName } from "./reference";
import { checkDockerRequest, type DockerJobRequest } from "./request";

export type { DockerJobRequest } from "./request";

/**
 * Creates and queues the `docker` job of `request` in the actor's repository; answers the job row (its `name` is
 * the flist the job publishes). Throws a HubError 400 for a bad request (missing image, malformed reference,
 * half credentials). The request's credentials are only ever stored sealed.
 */
export async function startDockerJob(env: Env, actor: Actor, request: DockerJobRequest | unknown): Promise<JobRow> {
  const checked = checkDockerRequest(request);
  checkReference(checked.image);
  const name = dockerFlistName(checked.image);
  const id = crypto.randomUUID();
  const params: JobParams = {
    docker: {
      image: checked.image,
      ...(checked.platform !== undefined ? { platform: checked.platform } : {}),
      ...(checked.startupToml !== undefined ? { startupToml: checked.startupToml } : {}),
    },
  };
  if (checked.credentials) params.sealed = await sealCredentials(env.INTERNAL_SECRET, id, checked.credentials);
  return startJob(env, actor, { id, kind: "docker", name, params });
}
