/**
 * Resumable uploads of large archives on R2 multipart uploads, for archives over the platform's request-body
 * limit (100 MB on the smallest plans) or over flaky links. Mounted at `/api/flist/me/uploads` (API tokens) and
 * at the website's `/upload/parts` (session + CSRF, for browser uploads over that limit); `resumableRoutes` makes both:
 *
 *   POST   /                    {"filename": "x.tar.gz", "partSize"?: n, "size"?: n, "metadata"?: {k: v}}
 *                               → 201 {id, name, partSize, url}
 *   PUT    /<id>/<part>         body = part `part` (1-based), Content-Length required; every part but the last
 *                               is exactly `partSize` bytes → {part, size, etag}; re-sending a part replaces it
 *   GET    /<id>                → {id, name, status, partSize, parts: [{part, size, etag}], received}: resume here
 *   POST   /<id>/complete       assembles the parts and starts the job (answers like POST /upload; ?async=1)
 *   DELETE /<id>                aborts the upload
 *
 * The session id becomes the job id, and the object is the job's staged input (`uploads/<id>`). Sessions belong
 * to the acting repository; other callers get 404. Abandoned sessions are aborted by the scheduled sweep.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv, Env } from "../env";
import { nowSeconds } from "../catalog/format";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, uploadConfig } from "../jobs/config";
import { inputKey } from "../jobs/lifecycle";
import { getJob } from "../jobs/store";
import type { JobRow } from "../jobs/store";
import { startJob } from "./jobs";
import { ARCHIVE_SUFFIX, metadataFields, uploadTargetName } from "./naming";
import {
  abandonedSessions,
  deleteParts,
  getSession,
  insertSession,
  listParts,
  markAborted,
  markCompleted,
  putPart,
  type PartRow,
  type SessionRow,
} from "./sessions";

export interface ResumableOptions {
  /** Authenticates the caller and sets `c.var.actor` (API token, or website session + CSRF). */
  guard: MiddlewareHandler<AppEnv>;
  /** Where the routes are mounted: session URLs in the answers. */
  base: string;
  /** The answer of `complete` once the job is started (or found again). */
  answer: (c: Context<AppEnv>, job: JobRow) => Response | Promise<Response>;
}


const MAX_PARTS = 10_000;
/** Open sessions untouched for this long are aborted by the sweep. */
const ABANDONED_AFTER_SECONDS = 24 * 3600;

const createBody = z.object({
  filename: z.string().min(1).max(4096),
  partSize: z.number().int().min(MIN_PART_SIZE).max(MAX_PART_SIZE).optional(),
  size: z.number().int().positive().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

/** The caller's session; another repository's session is indistinguishable from a missing one. */
async function callerSession(c: Context<AppEnv>): Promise<SessionRow> {
  const row = await getSession(c.env.DB, c.req.param("id") ?? "");
  if (!row || row.repository !== c.var.actor.repository) throw new HubError(404, "upload not found");
  return row;
}

function sessionView(s: SessionRow, parts: PartRow[], base: string) {
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    partSize: s.part_size,
    parts: parts.map((p) => ({ part: p.part_number, size: p.size, etag: p.etag })),
    received: parts.reduce((sum, p) => sum + p.size, 0),
    url: `${base}/${s.id}`,
  };
}

/** Parts 1..n without gap, all `partSize` bytes but the last: what R2 will assemble. */
function checkParts(session: SessionRow, parts: PartRow[]): void {
  if (parts.length === 0) throw new HubError(400, "no part uploaded");
  parts.forEach((p, i) => {
    if (p.part_number !== i + 1) throw new HubError(400, `part ${i + 1} is missing`);
    if (i < parts.length - 1 && p.size !== session.part_size) {
      const rule = `every part but the last must have ${session.part_size}`;
      throw new HubError(400, `part ${p.part_number} has ${p.size} bytes; ${rule}`);
    }
  });
}

/** Starts the job over the assembled object (the job id is the session id, its input `uploads/<id>`). */
function startSessionJob(c: Context<AppEnv>, session: SessionRow, size: number) {
  const params = JSON.parse(session.params) as { metadata?: Record<string, string> };
  return startJob(c.env, c.var.actor, {
    id: session.id,
    kind: "tar",
    name: session.name,
    params: { metadata: params.metadata ?? {} },
    staged: { size },
  });
}

export function resumableRoutes({ guard, base, answer }: ResumableOptions): Hono<AppEnv> {
  const resumable = new Hono<AppEnv>();

  resumable.post("/", guard, async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new HubError(400, "malformed json request");
    }
    const parsed = createBody.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HubError(400, `invalid body: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "bad value"}`);
    }
    const body = parsed.data;
    if (!body.filename.endsWith(ARCHIVE_SUFFIX)) throw new HubError(400, "this file is not allowed");
    const name = uploadTargetName("tar", body.filename, c.req.header("X-Original-Name"));
    const cap = uploadConfig.maxBytes(c.env);
    if (body.size !== undefined && body.size > cap) throw new HubError(413, `archive larger than ${cap} bytes`);
    const metadata = metadataFields(Object.entries(body.metadata ?? {}).map(([k, v]) => [`metadata-${k}`, v]));
    const partMax = uploadConfig.partMaxBytes(c.env);
    if (body.partSize !== undefined && body.partSize > partMax) {
      throw new HubError(400, `partSize larger than ${partMax} bytes, the largest one request to this hub may carry`);
    }
    const partSize = body.partSize ?? Math.min(DEFAULT_PART_SIZE, partMax);

    const id = crypto.randomUUID();
    const key = inputKey(id);
    const upload = await c.env.FLISTS.createMultipartUpload(key, {
      httpMetadata: { contentType: "application/octet-stream" },
    });
    await insertSession(c.env.DB, {
      id,
      user: c.var.actor.user,
      repository: c.var.actor.repository,
      name,
      r2_key: key,
      r2_upload_id: upload.uploadId,
      params: JSON.stringify({ metadata }),
      part_size: partSize,
      created: nowSeconds(),
    });
    c.header("Location", `${base}/${id}`);
    return ok(c, { id, name, partSize, url: `${base}/${id}` }, 201);
  });

  resumable.get("/:id", guard, async (c) => {
    const session = await callerSession(c);
    return ok(c, sessionView(session, await listParts(c.env.DB, session.id), base));
  });

  resumable.put("/:id/:part", guard, async (c) => {
    const session = await callerSession(c);
    if (session.status !== "open") throw new HubError(409, `upload is ${session.status}`);
    const partText = c.req.param("part");
    if (!/^\d{1,5}$/.test(partText) || Number(partText) < 1 || Number(partText) > MAX_PARTS) {
      throw new HubError(400, `invalid part: expected 1..${MAX_PARTS}`);
    }
    const part = Number(partText);
    const raw = c.req.header("Content-Length");
    if (raw === undefined || !/^\d{1,12}$/.test(raw.trim())) throw new HubError(411, "Content-Length required");
    const size = Number(raw.trim());
    if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty part");
    if (size > session.part_size) throw new HubError(413, `part larger than the upload's part size ${session.part_size}`);
    const cap = uploadConfig.maxBytes(c.env);
    if ((part - 1) * session.part_size + size > cap) throw new HubError(413, `archive larger than ${cap} bytes`);

    const upload = c.env.FLISTS.resumeMultipartUpload(session.r2_key, session.r2_upload_id);
    let uploaded: R2UploadedPart;
    try {
      uploaded = await upload.uploadPart(part, c.req.raw.body);
    } catch (err) {
      // Body shorter than its Content-Length, client gone, or the upload no longer exists in R2.
      throw new HubError(400, `part ${part} not stored: ${err instanceof Error ? err.message : String(err)}`);
    }
    await putPart(c.env.DB, session.id, { part_number: part, etag: uploaded.etag, size }, nowSeconds());
    return ok(c, { part, size, etag: uploaded.etag });
  });

  resumable.post("/:id/complete", guard, async (c) => {
    const session = await callerSession(c);
    const db = c.env.DB;
    if (session.status === "completed") {
      // A repeated complete (the first answer was lost): answer the job it started — or start it, if a failure
      // came between the assembly and the job's record.
      const job = await getJob(db, session.id);
      if (job) return answer(c, job);
      const assembled = await c.env.FLISTS.head(session.r2_key);
      if (assembled) return answer(c, await startSessionJob(c, session, assembled.size));
    }
    if (session.status !== "open") throw new HubError(409, `upload is ${session.status}`);
    const parts = await listParts(db, session.id);
    checkParts(session, parts);
    const size = parts.reduce((sum, p) => sum + p.size, 0);

    const upload = c.env.FLISTS.resumeMultipartUpload(session.r2_key, session.r2_upload_id);
    try {
      await upload.complete(parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })));
    } catch (err) {
      throw new HubError(400, `could not assemble the upload: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!(await markCompleted(db, session.id, nowSeconds()))) {
      // Another request completed or aborted the session meanwhile.
      const job = await getJob(db, session.id);
      if (job) return answer(c, job);
      throw new HubError(409, "upload is being completed or was aborted");
    }
    const job = await startSessionJob(c, session, size);
    await deleteParts(db, session.id).run();
    return answer(c, job);
  });

  resumable.delete("/:id", guard, async (c) => {
    const session = await callerSession(c);
    if (session.status !== "open") throw new HubError(409, `upload is ${session.status}`);
    await abortSession(c.env, session);
    return ok(c);
  });

  return resumable;
}

async function abortSession(env: Env, session: SessionRow): Promise<void> {
  await env.FLISTS.resumeMultipartUpload(session.r2_key, session.r2_upload_id)
    .abort()
    .catch(() => undefined);
  await markAborted(env.DB, session.id, nowSeconds());
}

/** Scheduled: aborts open sessions nobody touched for a day (R2 would keep their parts for a week). */
export async function sweepUploads(env: Env): Promise<void> {
  const sessions = await abandonedSessions(env.DB, nowSeconds() - ABANDONED_AFTER_SECONDS, 25);
  for (const session of sessions) await abortSession(env, session);
}
