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
 * to the acting repository; other callers get 404. Abandoned sessions are aborted by the scheduled sweep. The
 * protocol itself is resumable/routes.ts; this is its archive mount (sessions in D1: sessions.ts).
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv, Env } from "../env";
import { nowSeconds } from "../time";
import { HubError } from "../http/errors";
import { inputKey } from "../jobs/lifecycle";
import { getJob } from "../jobs/store";
import type { JobRow } from "../jobs/store";
import { checkTotal, multipart, partSizeSchema, sweepAbandoned, type Session, type SessionStore } from "../resumable/protocol";
import { resumableRoutes as mountRoutes, type MountContext } from "../resumable/routes";
import { startJob } from "../jobs/start";
import { notAllowedArchiveName } from "./file-check";
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

export const createBody = z.object({
  filename: z.string().min(1).max(4096),
  partSize: partSizeSchema.optional(),
  size: z.number().int().positive().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

type ArchiveSession = Session<SessionRow>;

function session(row: SessionRow): ArchiveSession {
  return {
    id: row.id,
    repository: row.repository,
    objectKey: row.r2_key,
    uploadId: row.r2_upload_id,
    partSize: row.part_size,
    status: row.status,
    row,
  };
}

/** `upload_sessions` + `upload_parts`: a session stays (completed, aborted) until the job sweep prunes it. */
const archiveSessions: SessionStore<SessionRow> = {
  async get(db, id) {
    const row = await getSession(db, id);
    return row && session(row);
  },
  aborted: (db, s, now) => markAborted(db, s.id, now),
  abandoned: async (db, before, limit) => (await abandonedSessions(db, before, limit)).map(session),
};

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
function startSessionJob(c: MountContext<SessionRow>, session: SessionRow, size: number) {
  const params = JSON.parse(session.params) as { metadata?: Record<string, string> };
  return startJob(c.env, c.var.actor, {
    id: session.id,
    kind: "tar",
    name: session.name,
    params: { metadata: params.metadata ?? {} },
    staged: { size },
  });
}

/** The archive mount: parts in any order, a status listing to resume from, completing starts a `tar` job. */
export function resumableRoutes({ guard, base, answer }: ResumableOptions): Hono<AppEnv> {
  const answerJob = (c: MountContext<SessionRow>, job: JobRow) => answer(c as unknown as Context<AppEnv>, job);
  return mountRoutes({
    path: "",
    guard,
    store: archiveSessions,
    notFound: "upload not found",
    body: createBody,
    malformedJson: "malformed json request",
    invalidBody: (issue) => `invalid body: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "bad value"}`,
    what: "archive",
    check(c, body) {
      // No byte is here yet (parts come later): the refusal names the accepted format only.
      if (!body.filename.endsWith(ARCHIVE_SUFFIX)) throw notAllowedArchiveName(body.filename);
      const name = uploadTargetName("tar", body.filename, c.req.header("X-Original-Name"));
      // The archive's size is refused before its metadata is read (the protocol checks it again, after the part size).
      checkTotal(c.env, body.size, "archive");
      const metadata = metadataFields(Object.entries(body.metadata ?? {}).map(([k, v]) => [`metadata-${k}`, v]));
      return { name, metadata, size: body.size, partSize: body.partSize };
    },
    async open(c, { id, checked: { name, metadata }, partSize }) {
      const key = inputKey(id);
      return {
        objectKey: key,
        options: { httpMetadata: { contentType: "application/octet-stream" } },
        async save(uploadId) {
          await insertSession(c.env.DB, {
            id,
            user: c.var.actor.user,
            repository: c.var.actor.repository,
            name,
            r2_key: key,
            r2_upload_id: uploadId,
            params: JSON.stringify({ metadata }),
            part_size: partSize,
            created: nowSeconds(),
          });
          c.header("Location", `${base}/${id}`);
          return { id, name, partSize, url: `${base}/${id}` };
        },
      };
    },
    parts: { order: "any", maxParts: MAX_PARTS },
    async recordPart(c, s, { part, size, etag }) {
      await putPart(c.env.DB, s.id, { part_number: part, etag, size }, nowSeconds());
      return { part, size, etag };
    },
    status: async (c, s) => sessionView(s.row, await listParts(c.env.DB, s.id), base),
    async complete(c, { row: session }) {
      const db = c.env.DB;
      if (session.status === "completed") {
        // A repeated complete (the first answer was lost): answer the job it started — or start it, if a failure
        // came between the assembly and the job's record.
        const job = await getJob(db, session.id);
        if (job) return answerJob(c, job);
        const assembled = await c.env.FLISTS.head(session.r2_key);
        if (assembled) return answerJob(c, await startSessionJob(c, session, assembled.size));
      }
      if (session.status !== "open") throw new HubError(409, `upload is ${session.status}`);
      const parts = await listParts(db, session.id);
      checkParts(session, parts);
      const size = parts.reduce((sum, p) => sum + p.size, 0);

      try {
        await multipart(c.env, c.var.session).complete(parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })));
      } catch (err) {
        throw new HubError(400, `could not assemble the upload: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!(await markCompleted(db, session.id, nowSeconds()))) {
        // Another request completed or aborted the session meanwhile.
        const job = await getJob(db, session.id);
        if (job) return answerJob(c, job);
        throw new HubError(409, "upload is being completed or was aborted");
      }
      const job = await startSessionJob(c, session, size);
      await deleteParts(db, session.id).run();
      return answerJob(c, job);
    },
  });
}

/** Scheduled: aborts open sessions nobody touched for a day (R2 would keep their parts for a week). */
export async function sweepUploads(env: Env): Promise<void> {
  await sweepAbandoned(env, archiveSessions, ABANDONED_AFTER_SECONDS);
}
