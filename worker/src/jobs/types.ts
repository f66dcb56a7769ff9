/** Shapes shared by the job modules and their callers (kept apart so that no two job modules import each other). */
import type { FileCounts, PublishResult } from "../../../protocol/publish";

/** What a docker job keeps of its request (never the credentials in clear: see `sealed`). */
export interface DockerParams {
  image: string;
  platform?: string;
  startupToml?: boolean;
}

export interface JobParams {
  metadata?: Record<string, string>;
  sources?: { repository: string; name: string; sha256: string }[];
  docker?: DockerParams;
  /** docker: the registry credentials, AES-GCM sealed (jobs/credentials.ts); removed when the job ends. */
  sealed?: string;
  /** The id of the request that started the job (observe/request-id.ts): its lines in both services carry it. */
  requestId?: string;
}

/** What a publish answers (catalog/publish.ts): the flist as stored (protocol/publish.ts). */
export type { PublishResult };

/** What a finished job keeps as its result: the publish result plus the counts of the contents listing. */
export interface JobResult extends PublishResult {
  counts: FileCounts;
}
