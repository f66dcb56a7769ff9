/**
 * Starting a publishing job from a request and answering it (docs/compatibility.md §6.17): the input is staged in R2 first,
 * then the job is recorded and queued. By default the request waits for the job and answers like the original;
 * `?async=1` or `Prefer: respond-async` answers 202 at once with the job's URLs.
 */
import type { Context } from "hono";
import type { Actor, AppEnv, Env } from "../env";
import { HubError } from "../http/errors";
import { fail, ok } from "../http/respond";
import type { JobParams, JobResult } from "./types";
import { createJob, inputKey } from "./lifecycle";
import { jobUrls, waitForJob } from "./read";
import type { JobKind, JobRow } from "./store";

export interface StartJob {
  kind: JobKind;
  name: string;
  params: JobParams;
  /** The input to stage: a Blob (form part) or a body stream of known length (streamed upload). */
  input?: { body: Blob | ReadableStream; size: number };
  /** Reuse an id (resumable uploads: the session id, whose input is already in R2 at `inputKey(id)`). */
  id?: string;
  staged?: { size: number };
}

export async function startJob(env: Env, actor: Actor, start: StartJob): Promise<JobRow> {
  const id = start.id ?? crypto.randomUUID();
  let input: { key: string; size: number } | null = null;
  if (start.input) {
    const key = inputKey(id);
    try {
      await env.FLISTS.put(key, start.input.body, { httpMetadata: { contentType: "application/octet-stream" } });
    } catch (err) {
      // A streamed body that ends early (client gone, shorter than its Content-Length) is the client's failure.
      if (start.input.body instanceof ReadableStream) throw new HubError(400, `upload incomplete: ${describe(err)}`);
      throw err;
    }
    input = { key, size: start.input.size };
  } else if (start.staged) {
    input = { key: inputKey(id), size: start.staged.size };
  }
  try {
    return await createJob(env, {
      id,
      kind: start.kind,
      user: actor.user,
      repository: actor.repository,
      name: start.name,
      params: start.params,
      input,
    });
  } catch (err) {
    if (input) await env.FLISTS.delete(input.key).catch(() => undefined);
    throw err;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function wantsAsync(c: Context): boolean {
  const flag = (c.req.query("async") ?? "").toLowerCase();
  if (flag === "1" || flag === "true" || flag === "yes") return true;
  return /(^|[\s,;])respond-async($|[\s,;=])/i.test(c.req.header("Prefer") ?? "");
}

/** `files` of the original's upload answer: the zflist JSON plus its exit code. */
function filesOf(response: unknown): Record<string, unknown> {
  return { success: true, error: null, response, status: 0 };
}

/** The full contents listing of a published flist, for a `flist` job's answer (the catalog has it: uploads/jobs.ts). */
export type ContentsReader = (sha256: string) => Promise<unknown | null>;

/**
 * 202 with the job (async), or waits for it: success → the original's envelope for `kind`; failure → the error
 * envelope with the job's message (the original answered 500 + "success" for merges: fixed, docs/compatibility.md §6.8).
 * A `flist` job answers `contents`' listing (the counts without it, or when the listing is gone).
 */
export async function answerJob(c: Context<AppEnv>, job: JobRow, contents?: ContentsReader): Promise<Response> {
  const links = jobUrls(job.id);
  c.header("X-Hub-Job", job.id);
  if (wantsAsync(c)) {
    c.header("Location", links.self);
    c.header("Preference-Applied", "respond-async");
    return ok(c, { job: job.id, status: job.status, name: job.name, ...links }, 202);
  }

  const done = await waitForJob(c.env, job.id, c.req.raw.signal);
  if (done.status === "failed") {
    const status = done.result ? (JSON.parse(done.result) as { httpStatus?: number }).httpStatus : undefined;
    return fail(c, (status && status >= 400 && status <= 599 ? status : 500) as 500, done.message);
  }
  const result = JSON.parse(done.result ?? "{}") as JobResult;
  if (done.kind === "merge") return ok(c);
  // docs/compatibility.md §6.7: the original put the stats in `payload.name`; here `name` is the flist, the stats are `files`.
  if (done.kind === "docker") return ok(c, { name: done.name, files: result.counts });
  if (done.kind === "flist") {
    // The original answered zflist `check`'s output, which includes the full `content` listing.
    const response = (await contents?.(result.sha256)) ?? result.counts;
    return ok(c, { name: done.name, files: filesOf(response) });
  }
  return ok(c, { name: done.name, files: filesOf(result.counts) });
}
