/**
 * The publish pages' web routes. They authenticate with the session (+ CSRF token in the `X-CSRF-Token`
 * header, sent by site.js) instead of an API token, and start jobs with the same functions as the API routes
 * (jobs/start.ts `startJob`, uploads/naming.ts), then answer at once with the job's URLs; the page follows the
 * job's events.
 *
 *   PUT  /upload/<file>.tar.gz        raw body (streamed to R2 like `PUT /api/flist/me/upload/<name>`)
 *   PUT  /upload-flist/<file>.flist   raw body
 *   POST /merge                       JSON {"sources": ["repo/name", …], "name": "…"}
 *   POST /docker-convert              JSON {"image", "platform"?, "startupToml"?, "username"?, "password"?, "token"?}
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { z } from "zod";
import type { Actor, AppEnv } from "../../env";
import { HubError } from "../../http/errors";
import { uploadConfig } from "../../jobs/config";
import { jobUrls } from "../../jobs/read";
import { getJob, type JobRow } from "../../jobs/store";
import { startDockerJob } from "../../docker/service";
import { MAX_FLIST_BYTES } from "../../catalog/publish";
import { startJob } from "../../jobs/start";
import { type MergeSource, mergeTarget, resolveSource } from "../../uploads/merge";
import { notAllowedArchiveName } from "../../uploads/file-check";
import { ARCHIVE_SUFFIX, FLIST_UPLOAD_SUFFIX, uploadTargetName } from "../../uploads/naming";
import { resumableRoutes } from "../../uploads/resumable";
import { requireCsrf } from "../csrf";
import { urls } from "../format";
import { requireSession, sessionOf } from "../session";
import { dockerPage, homemadePage, jobPage, mergePage, readonlyPage, uploadPage } from "./pages";
import { catalogStore } from "../../catalog/store/d1-r2";
import { checked } from "../../http/validate";

export const publishRoutes = new Hono<AppEnv>();

const isReadonly = (c: Context<AppEnv>) => (c.env.HUB_READONLY ?? "").trim().toLowerCase() === "true";

/** Read-only hub: publish pages send browsers to /readonly (the original's `@protected`), actions answer 503. */
function writable(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!isReadonly(c)) return next();
    if (c.req.method === "GET") return c.redirect("/readonly", 302);
    throw new HubError(503, "this hub is read-only");
  };
}

const pageGuard = [writable(), requireSession()] as const;
const actionGuard = [writable(), requireSession(), requireCsrf()] as const;

function actor(c: Context<AppEnv>): Actor {
  const session = sessionOf(c);
  return { user: session.user, repository: session.repository };
}

/** The signed-in user acts as the API's `actor` would (for routes shared with the API). */
function actAsSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("actor", actor(c));
    await next();
  };
}

/** 202 with where to follow the job and where its flist will be. */
function started(c: Context<AppEnv>, job: JobRow): Response {
  return c.json(
    { status: "success", payload: { job: job.id, name: job.name, page: urls.flist(job.repository, job.name), ...jobUrls(job.id) } },
    202,
  );
}

function declaredLength(c: Context): number {
  const raw = (c.req.header("Content-Length") ?? "").trim();
  if (!/^\d{1,16}$/.test(raw)) throw new HubError(411, "Content-Length required");
  return Number(raw);
}

// Archives larger than one request may carry (HUB_REQUEST_MAX_BYTES) are sent in parts by the upload page: the
// API's resumable protocol (uploads/resumable.ts) behind the site's session and CSRF checks. Under `/upload/`
// (a reserved first segment): no repository's download path can meet these.
publishRoutes.route(
  "/upload/parts",
  resumableRoutes({ guard: every(...actionGuard, actAsSession()), base: "/upload/parts", answer: (c, job) => started(c, job) }),
);

publishRoutes.get("/readonly", (c) => (isReadonly(c) ? readonlyPage(c) : c.redirect("/", 302)));

publishRoutes.get("/upload", ...pageGuard, uploadPage);
publishRoutes.get("/upload-flist", ...pageGuard, homemadePage);
publishRoutes.get("/merge", ...pageGuard, mergePage);
publishRoutes.get("/docker-convert", ...pageGuard, dockerPage);
publishRoutes.get("/jobs/:id", async (c) => {
  const id = c.req.param("id");
  if (!(await getJob(c.env.DB, id))) throw new HubError(404, "job id not found");
  return jobPage(c, id);
});

publishRoutes.put("/upload/:filename", ...actionGuard, async (c) => {
  const filename = c.req.param("filename");
  if (!filename.endsWith(ARCHIVE_SUFFIX)) throw notAllowedArchiveName(filename);
  const name = uploadTargetName("tar", filename, undefined);
  const size = declaredLength(c);
  const cap = uploadConfig.streamedMaxBytes(c.env);
  if (size > cap) throw new HubError(413, `archive larger than ${cap} bytes, the largest one request to this hub may carry: \`zhub upload\` sends it in parts`);
  if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty archive");
  const job = await startJob(c.env, actor(c), {
    kind: "tar",
    name,
    params: { metadata: {} },
    input: { body: c.req.raw.body, size },
  });
  return started(c, job);
});

publishRoutes.put("/upload-flist/:filename", ...actionGuard, async (c) => {
  const filename = c.req.param("filename");
  if (!filename.endsWith(FLIST_UPLOAD_SUFFIX)) throw new HubError(400, "this file is not allowed: choose a .flist file");
  const name = uploadTargetName("flist", filename, undefined);
  const size = declaredLength(c);
  if (size > MAX_FLIST_BYTES) throw new HubError(413, `flist larger than ${MAX_FLIST_BYTES} bytes`);
  if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty flist");
  const job = await startJob(c.env, actor(c), { kind: "flist", name, params: {}, input: { body: c.req.raw.body, size } });
  return started(c, job);
});

const MAX_MERGE_SOURCES = 64;
const mergeSchema = z.object({
  sources: z.array(z.string().max(600)).min(1, "pick at least one flist").max(MAX_MERGE_SOURCES),
  name: z.string().trim().min(1, "missing build (target) name").max(300),
});

async function jsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let data: unknown;
  try {
    data = await c.req.json();
  } catch {
    throw new HubError(400, "malformed json request");
  }
  return checked(schema, data, "message");
}

publishRoutes.post("/merge", ...actionGuard, async (c) => {
  const body = await jsonBody(c, mergeSchema);
  // Same rules as POST /api/flist/me/merge/<target>: each source must resolve to a flist now (it is pinned to
  // these bytes), and the target is a plain name.
  const sources: MergeSource[] = [];
  for (const source of body.sources) {
    const [repository = "", rawName = "", extra] = source.split("/");
    if (extra !== undefined) throw new HubError(400, "malformed source filename: expected <repository>/<name>");
    sources.push(await resolveSource(catalogStore(c.env), repository, rawName));
  }
  const target = mergeTarget(body.name);
  const job = await startJob(c.env, actor(c), { kind: "merge", name: target, params: { sources } });
  return started(c, job);
});

/** Docker requests are a few fields: anything larger is not one. */
const MAX_DOCKER_BODY = 64 * 1024;

publishRoutes.post("/docker-convert", ...actionGuard, async (c) => {
  if (Number(c.req.header("Content-Length") ?? "0") > MAX_DOCKER_BODY) throw new HubError(413, "request body too large");
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new HubError(400, "malformed json request");
  }
  // Validation (image, platform, credentials) and sealing of the credentials happen in the docker service, as for
  // POST /api/flist/me/docker.
  const job = await startDockerJob(c.env, actor(c), body);
  return started(c, job);
});
