/**
 * The streamed raw upload (`PUT /api/flist/me/upload/<name>.tar.gz`) with conversion overlapping the upload
 * (docs/jobs-protocol.md "Streamed uploads"). The job is recorded first and its attempt 1 claimed here; the body
 * is then read once and every chunk written both to R2 (the staged input, what any later attempt reads) and to
 * `POST <converter>/jobs` carrying the same archive inline, each write awaited on both sides so the slower
 * destination paces the upload (never a `tee()`, which would buffer the slower branch in the Worker's memory).
 *
 * Safety: the converter publishes only after it received exactly the declared byte count, and the publish route
 * refuses a job whose input is not entirely in R2 yet (lifecycle.ts `inputStaged`), so a truncated upload
 * publishes nothing. When the inline branch fails (converter busy, unreachable, dead mid-stream), the upload goes
 * on into R2 alone and the job is dispatched the ordinary way once the input is staged.
 */
import { INLINE_SPEC_HEADER, INPUT_SIZE_HEADER, type JobSpecInput } from "../../../protocol/job-spec";
import type { Actor, Env } from "../env";
import { log } from "../observe/log";
import { nowSeconds } from "../time";
import { HubError } from "../http/errors";
import { bigReads } from "../http/big-reads";
import { jobConfig } from "../jobs/config";
import { converterError, converterFetch } from "../jobs/converter";
import { dispatchJob, jobSpec } from "../jobs/dispatch";
import type { JobParams } from "../jobs/types";
import { createJob, finishFailed, inputKey, recordProgress } from "../jobs/lifecycle";
import { claimAttempt, getJob, isTerminal, releaseAttempt, unclaimAttempt, type JobRow } from "../jobs/store";

/** The spec travels in a header (the body is the archive); a spec larger than this goes the ordinary way. */
const MAX_SPEC_HEADER = 8 * 1024;

/** Bytes gathered per read of the upload body (the last read may be shorter). */
const READ_BYTES = 1024 * 1024;

/** How long the converter may take to acknowledge the complete input once it is sent. */
const ACK_TIMEOUT_MS = 30_000;

export interface StreamedUpload {
  name: string;
  params: JobParams;
  body: ReadableStream<Uint8Array>;
  size: number;
}

/** Base64url of the UTF-8 JSON: header values are bytes, metadata fields may not be ASCII. */
export function encodeSpecHeader(spec: JobSpecInput): string {
  const bytes = new TextEncoder().encode(JSON.stringify(spec));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why the inline branch stopped; `busy` = the converter never started the attempt (it does not count). */
interface InlineFailure {
  reason: string;
  busy: boolean;
}

/**
 * Records the job, streams the body into R2 and (when it accepts) into the converter, and answers the job row
 * once the input is staged. Throws HubError(400) when the body breaks off: the job is then failed, nothing staged.
 */
export async function startStreamedJob(env: Env, actor: Actor, upload: StreamedUpload): Promise<JobRow> {
  const id = crypto.randomUUID();
  const key = inputKey(id);
  const job = await createJob(
    env,
    { id, kind: "tar", user: actor.user, repository: actor.repository, name: upload.name, params: upload.params, input: { key, size: upload.size } },
    { queue: false },
  );
  const now = nowSeconds();
  const lease = jobConfig.leaseSeconds(env);
  const claimed = await claimAttempt(env.DB, job, now + lease, now).run();
  // Nobody else knows the job yet, so the claim cannot be lost; if it were, only the R2 copy is made.
  const attempt = claimed.meta.changes === 1 ? 1 : null;

  const r2 = new FixedLengthStream(upload.size);
  const r2Put = env.FLISTS.put(key, r2.readable, { httpMetadata: { contentType: "application/octet-stream" } });
  // Observed at once so a failing put never goes unhandled while the loop awaits something else.
  let r2Error: unknown;
  const r2Failed = new Promise<never>((_, reject) => {
    r2Put.then(undefined, (err: unknown) => {
      r2Error ??= err;
      reject(err);
    });
  });
  r2Failed.catch(() => undefined);
  const r2Writer = r2.writable.getWriter();

  const inline = attempt === null ? null : startInline(env, await jobSpec(env, job, attempt), upload.size);
  let failure: InlineFailure | null = inline ? null : { reason: "the converter was not offered the upload", busy: true };
  const dead = new Promise<void>((resolve) => {
    if (!inline) return resolve();
    inline.response.then(
      async (res) => {
        if (res.ok) return; // the input was acknowledged (normally only once all of it was sent)
        const message = await converterError(res);
        failure ??= { reason: `converter ${res.status === 503 ? "busy" : "refused the inline input"}: ${message}`, busy: res.status === 503 };
        resolve();
      },
      (err: unknown) => {
        failure ??= { reason: `converter unreachable: ${describe(err)}`, busy: false };
        resolve();
      },
    );
  });
  let inlineOpen = inline !== null;
  const dropInline = (reason: string) => {
    failure ??= { reason, busy: false };
    if (!inlineOpen) return;
    inlineOpen = false;
    inline?.writer.abort(new Error(reason)).catch(() => undefined);
  };

  const reader = bigReads(upload.body, READ_BYTES);
  let received = 0;
  let renewedAt = Date.now();
  try {
    for (;;) {
      const value = await reader.read();
      if (value === undefined) break;
      received += value.byteLength;
      const writes: Promise<unknown>[] = [Promise.race([r2Writer.write(value), r2Failed])];
      if (inline && inlineOpen && !failure) {
        writes.push(
          Promise.race([
            inline.writer.write(value).catch((err: unknown) => dropInline(`converter stopped reading the input: ${describe(err)}`)),
            dead,
          ]),
        );
      }
      // Both writes awaited: the slower destination paces the upload. (Letting each run a few pieces ahead of the
      // other measured no faster: the machine's CPU, not the lockstep, is the limit; bench/hub-upload.bench.ts.)
      await Promise.all(writes);
      if (failure) dropInline((failure as InlineFailure).reason);
      // Without the converter's reports the attempt's lease is renewed here, so the sweep leaves it alone while
      // the upload runs; if this request dies, the lease expires and the lease path takes over.
      if (attempt !== null && Date.now() - renewedAt > (lease * 1000) / 3) {
        renewedAt = Date.now();
        // Not fatal: a lease that lapses only means the lease path may take the job over.
        await recordProgress(env, { id, attempt }, undefined).catch((err: unknown) => log.error("lease renewal failed", { job_id: id, error: describe(err) }));
      }
    }
    await Promise.race([r2Writer.close(), r2Failed]);
    await r2Put;
  } catch (err) {
    // The client went away or sent fewer bytes than its Content-Length: fail the job (its converter sees the
    // inline input break off and publishes nothing), and say so to the client.
    const reason = `upload incomplete: ${describe(r2Error ?? err)}`;
    reader.cancel(reason).catch(() => undefined);
    r2Writer.abort(new Error(reason)).catch(() => undefined);
    dropInline(reason);
    await finishFailed(env, { id, attempt: null }, reason, 400);
    await env.FLISTS.delete(key).catch(() => undefined);
    throw new HubError(400, reason);
  }

  if (inline && inlineOpen && !failure) {
    await Promise.race([inline.writer.close(), dead]).catch((err: unknown) => dropInline(`converter stopped reading the input: ${describe(err)}`));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS));
    // A refusal is classified by `dead` (busy or not): wait for it rather than calling it "no acknowledgement".
    const answer = inline.response.then((res) => (res.ok ? true : dead.then(() => false)), () => dead.then(() => false));
    const acked = await Promise.race([answer, dead.then(() => false), timeout.then(() => false)]);
    if (acked) await (await inline.response).body?.cancel().catch(() => undefined);
    else dropInline("the converter did not acknowledge the input");
  }

  const after = await getJob(env.DB, id);
  if (!after || isTerminal(after.status)) {
    // The job ended while the input was still being staged (the converter failed it): the object came too late
    // for the end's clean-up, remove it now.
    await env.FLISTS.delete(key).catch(() => undefined);
    return after ?? job;
  }
  if (failure && attempt !== null) await fallBack(env, id, attempt, failure);
  else if (attempt === null) await env.JOBS.send({ jobId: id }).catch(() => undefined); // still queued: the ordinary start
  return (await getJob(env.DB, id)) ?? after;
}

interface Inline {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  response: Promise<Response>;
}

function startInline(env: Env, spec: JobSpecInput, size: number): Inline | null {
  const header = encodeSpecHeader(spec);
  if (header.length > MAX_SPEC_HEADER) return null;
  const body = new FixedLengthStream(size);
  const response = converterFetch(
    env,
    "/jobs",
    {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", [INLINE_SPEC_HEADER]: header, [INPUT_SIZE_HEADER]: String(size) },
      body: body.readable,
    },
    spec.id,
  );
  // Observed by `dead` in the caller; this keeps an early rejection from being reported as unhandled.
  response.catch(() => undefined);
  return { writer: body.writable.getWriter(), response };
}

/**
 * The inline attempt did not happen or broke off: the input is now staged, so the job is dispatched the ordinary
 * way (the converter reads it from R2). A busy converter never started the attempt: given back, as dispatch does.
 */
async function fallBack(env: Env, id: string, attempt: number, failure: InlineFailure): Promise<void> {
  const now = nowSeconds();
  const release = failure.busy ? unclaimAttempt : releaseAttempt;
  await release(env.DB, { id, attempt }, failure.reason, now, now).run();
  try {
    const outcome = await dispatchJob(env, id, "lease");
    if (outcome.kind === "retry") await env.JOBS.send({ jobId: id }, { delaySeconds: outcome.delaySeconds });
  } catch (err) {
    log.error("dispatch after the streamed upload failed, left to the Queue", { job_id: id, error: describe(err) });
    await env.JOBS.send({ jobId: id }).catch(() => undefined);
  }
}
