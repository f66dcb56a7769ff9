/**
 * Publishing: the one way a flist enters the catalog. The converter (or an operator, or a test) hands over
 * the .flist bytes plus what it computed (contents listing in zflist `find` shape, entries' types, metadata); the Worker
 * hashes the bytes, stores them content-addressed in R2 and writes every D1 row in one batch.
 *
 * Atomic: R2 objects are written first under content-derived keys (harmless if the batch then fails: a retry
 * reuses them); the catalog changes only when the D1 batch commits. Idempotent: with a job id, a second
 * delivery of the same job answers the first result and writes nothing.
 */
import {
  MAX_FLIST_BYTES,
  publishInfoSchema,
  type ContentsListing,
  type FileCounts,
  type PublishInfo,
  type PublishResult,
} from "../../../protocol/publish";
import type { Env } from "../env";
import { HubError } from "../http/errors";
import { nowSeconds } from "../time";
import { dropInput, inputStaged } from "../jobs/lifecycle";
import { getJob, type JobRow } from "../jobs/store";
import type { JobResult } from "../jobs/types";
import type { CatalogStore, Publication } from "./store/catalog-store";
import { catalogStore } from "./store/d1-r2";
import { historyRetentionDays } from "./retention";

/** Largest .flist accepted (protocol/publish.ts: the multipart body is parsed in memory). */
export { MAX_FLIST_BYTES };

/** Largest metadata JSON: it is stored in one D1 row, and D1 rows are limited to 2 MB. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** The publish's `info` part and answer: the Worker ⇄ converter contract (protocol/publish.ts). */
export { publishInfoSchema, type PublishInfo, type PublishResult };

function countsOf(c: ContentsListing): JobResult["counts"] {
  return {
    regular: c.regular,
    symlink: c.symlink,
    directory: c.directory,
    special: c.special,
    failure: c.failure,
    fullsize: c.fullsize,
  };
}

async function firstResult(store: CatalogStore, jobId: string): Promise<PublishResult | null> {
  const done = await store.publishedJob(jobId);
  return done ? (JSON.parse(done.result) as PublishResult) : null;
}

/**
 * A publish carrying the id of a job of the jobs table must come from that job's current attempt and target
 * its name. Returns the job (null for an operator's own id), or the first result when the job already published.
 */
async function checkJob(
  env: Env,
  store: CatalogStore,
  repository: string,
  name: string,
  info: PublishInfo,
): Promise<{ job: JobRow | null; done: PublishResult | null }> {
  if (!info.jobId) return { job: null, done: null };
  const job = await getJob(env.DB, info.jobId);
  if (!job || job.status === "succeeded") return { job, done: await firstResult(store, info.jobId) };
  if (info.attempt === undefined) throw new HubError(400, "invalid info: attempt: required for a job's publish");
  if (job.repository !== repository || job.name !== name) {
    throw new HubError(409, `job ${job.id} publishes ${job.repository}/${job.name}, not ${repository}/${name}`);
  }
  if (job.status !== "running" || job.attempts !== info.attempt) {
    throw new HubError(409, `stale attempt ${info.attempt} of job ${job.id} (${job.status}, attempt ${job.attempts})`);
  }
  return { job, done: null };
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 and MD5 of the bytes in one streamed pass each (no extra copy of the file). */
async function digests(file: Blob): Promise<{ sha256: string; md5: string }> {
  // The tsconfig's "WebWorker" lib types `crypto` as the browser Crypto, which lacks the Workers extension.
  const { DigestStream: Digest } = crypto as unknown as { DigestStream: typeof DigestStream };
  const sha = new Digest("SHA-256");
  const md5 = new Digest("MD5");
  const [a, b] = file.stream().tee();
  await Promise.all([a.pipeTo(sha), b.pipeTo(md5)]);
  return { sha256: hex(await sha.digest), md5: hex(await md5.digest) };
}

/** The first two bytes of every .flist (a gzip'd tar). The Worker never parses further (docs/design.md §2.1). */
async function looksLikeGzip(file: Blob): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Canonical JSON of the listing, field order as zflist prints it. */
function listingJson(c: ContentsListing): string {
  return JSON.stringify({
    content: c.content.map((e) => ({ size: e.size, path: e.path })),
    regular: c.regular,
    symlink: c.symlink,
    directory: c.directory,
    special: c.special,
    failure: c.failure,
    fullsize: c.fullsize,
  });
}

/**
 * Publishes `file` as `<repository>/<name>` (name already validated and normalised to `*.flist`). An
 * existing entry of that name, flist or link, is replaced (never written through) and kept in history.
 */
export async function publishFlist(
  env: Env,
  input: { repository: string; name: string; file: Blob; info: PublishInfo },
): Promise<PublishResult> {
  const { repository, name, file, info } = input;
  const store = catalogStore(env);
  const { job, done } = await checkJob(env, store, repository, name, info);
  if (done) return done;
  // A streamed upload's converter converts the bytes while they are still being staged (uploads/streamed.ts):
  // nothing is published from them before R2 holds all of them. 503: the converter retries the publish.
  if (job && !(await inputStaged(env, job))) {
    throw new HubError(503, `the input of job ${job.id} is not fully uploaded yet`);
  }
  if (file.size === 0) throw new HubError(400, "empty flist");
  if (file.size > MAX_FLIST_BYTES) throw new HubError(413, `flist larger than ${MAX_FLIST_BYTES} bytes`);
  if (!(await looksLikeGzip(file))) throw new HubError(400, "not a flist: the file is not gzip-compressed");
  const metadata = JSON.stringify(info.metadata);
  if (new TextEncoder().encode(metadata).length > MAX_METADATA_BYTES) {
    throw new HubError(413, `metadata larger than ${MAX_METADATA_BYTES} bytes`);
  }

  const { sha256, md5 } = await digests(file);
  // Touched first: the blob collector (retention.ts, only with history retention on) leaves a blob alone
  // while a publish reuses it.
  const collecting = historyRetentionDays(env) > 0;
  if (collecting) await store.touchBlob(sha256, nowSeconds());
  const putObjects = () =>
    Promise.all([
      store.putFlist(sha256, md5, file),
      store.putContents(sha256, listingJson(info.contents)),
      // Beside the listing, which keeps the zflist shape clients parse (docs/catalog-api.md "Entry types").
      info.entries ? store.putEntryTypes(sha256, JSON.stringify(info.entries)) : undefined,
    ]);
  await putObjects();

  const result: PublishResult = { repository, name, sha256, md5, size: file.size };
  const now = nowSeconds();
  const publication: Publication = {
    blob: { sha256, md5, size: file.size, counts: info.contents, metadata },
    changes: [
      { op: "archive", repository, name, reason: "publish" },
      { op: "putEntry", entry: { repository, name, kind: "regular", blob: sha256, updated: now } },
      { op: "touchRepository", repository },
    ],
  };
  if (info.jobId) publication.record = { jobId: info.jobId, repository, name, sha256, result: JSON.stringify(result) };
  if (job && info.attempt !== undefined) {
    // The job's success is part of the publish: the catalog rows, `succeeded` and the final event commit
    // together, and only while this attempt is the job's current one (checked in the transaction).
    const jobResult: JobResult = { ...result, counts: countsOf(info.contents) };
    const event = { status: "info", info: { filename: name, file: name, flist: countsOf(info.contents) } };
    publication.job = { id: job.id, attempt: info.attempt, result: JSON.stringify(jobResult), event };
  }
  const outcome = await store.publish(publication, now);
  if (outcome !== "published") {
    // Two deliveries of one job raced (or the attempt went stale meanwhile): the loser's batch rolled back
    // entirely; answer the winner's result, or 409 when no attempt published.
    const first = await firstResult(store, info.jobId!);
    if (first) return first;
    if (outcome === "stale") throw new HubError(409, `stale attempt ${info.attempt} of job ${info.jobId}`);
    throw new Error(`publish of job ${info.jobId} conflicts with a record that is gone`);
  }
  if (collecting) {
    // The collector may have deleted this blob's objects between our touch and our put (its row was already gone,
    // so the touch found nothing): now that an entry refers to the row, put them back if so.
    if (!(await store.hasObjects(sha256))) await putObjects();
  }
  if (job) await dropInput(env, job.id);
  return result;
}
