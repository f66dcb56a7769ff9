/**
 * How the upload routes answer their jobs: jobs/start.ts's answer, with a `flist` job's full contents listing
 * read from the catalog (as the original's zflist `check` output).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { answerJob } from "../jobs/start";
import type { JobRow } from "../jobs/store";
import { catalogStore } from "../catalog/store/d1-r2";

export function answerUpload(c: Context<AppEnv>, job: JobRow): Promise<Response> {
  return answerJob(c, job, (sha256) => catalogStore(c.env).contentsJson(sha256));
}
