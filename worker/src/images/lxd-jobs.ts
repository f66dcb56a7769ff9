/**
 * Every flist as an LXD container image: `POST /api/flist/me/<name>/lxd` starts an `lxd` job; the
 * converter (converter/src/service/lxd.ts) reads the flist's tree back from the chunk store into rootfs.squashfs
 * with a generated lxd.tar.xz and hands both to the internal routes below, which store them as image
 * `<repo>:<flist-name>:amd64:default` (version: the job's creation minute) with alias `<repo>/<flist-name>`, owned
 * by the repository. Progress and failure go through the ordinary job routes (docs/jobs-protocol.md).
 *
 * The flist is pinned when the job is created: its name and sha256 travel in the job's `metadata` params (the
 * one spec field every kind carries), so a flist replaced meanwhile does not change what is converted.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { z } from "zod";
import { requireActor } from "../auth/middleware";
import { requireInternal } from "../auth/internal";
import { FLIST_SUFFIX, flistNameSchema, quoteName } from "../names";
import { nowSeconds } from "../time";
import type { Actor, AppEnv, Env } from "../env";
import { HubError } from "../http/errors";
import { fail, ok } from "../http/respond";
import { createJob, recordProgress } from "../jobs/lifecycle";
import { waitForJob } from "../jobs/read";
import { appendFinalEvent, getJob, markSucceeded, type JobRow } from "../jobs/store";
import { resolveFlist } from "../catalog/read";
import { answerJob, wantsAsync } from "../jobs/start";
import { storeImageFile } from "./ingest";
import { bodyChunks } from "../http/big-reads";
import { imageKey, productKey, segmentSchema, type ImageKey } from "./names";
import { imageUploadRoutes, uploadSchema } from "./resumable";
import { applyOverride, deleteRows } from "./store";
import { catalogStore } from "../catalog/store/d1-r2";
import { checked } from "../http/validate";

export const lxdJobs = new Hono<AppEnv>();

/** The image of a flist: product `<repo>:<flist-name>:amd64:default` (flists carry no architecture). */
function lxdImageKey(repository: string, flistName: string, created: number): ImageKey {
  const d = new Date(created * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const version = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const release = flistName.endsWith(FLIST_SUFFIX) ? flistName.slice(0, -FLIST_SUFFIX.length) : flistName;
  return imageKey({ os: repository, release, arch: "amd64", variant: "default", version });
}

/**
 * Starts the `lxd` job of flist `name` ("x.flist") of `actor.repository`, pinned by its sha256: the one path for
 * the API route below and the flist page's button (web/publish/lxd.ts). 400 when the names cannot name an image,
 * 404 when the flist does not resolve.
 */
export async function startLxdJob(env: Env, actor: Actor, name: string): Promise<JobRow> {
  const release = name.slice(0, -FLIST_SUFFIX.length);
  // Image path segments are stricter than flist names: refuse up front rather than fail the job later.
  for (const [what, value] of [["repository", actor.repository], ["flist name", release]] as const) {
    if (!segmentSchema.safeParse(value).success) throw new HubError(400, `this ${what} cannot name an LXD image: ${quoteName(value)}`);
  }
  const { blob } = await resolveFlist(catalogStore(env), actor.repository, name);
  return createJob(env, {
    id: crypto.randomUUID(),
    kind: "lxd",
    user: actor.user,
    repository: actor.repository,
    name,
    params: { metadata: { flist: name, sha256: blob.sha256 } },
    input: null,
  });
}

lxdJobs.post("/api/flist/me/:name/lxd", requireActor(), async (c) => {
  const job = await startLxdJob(c.env, c.var.actor, checked(flistNameSchema, c.req.param("name"), "name"));
  if (wantsAsync(c)) return answerJob(c, job);
  const done = await waitForJob(c.env, job.id, c.req.raw.signal);
  c.header("X-Hub-Job", job.id);
  if (done.status === "failed") {
    // The status the converter gave the failure (503 chunk store down, 422 bad input…), as answerJob does.
    const status = done.result ? (JSON.parse(done.result) as { httpStatus?: number }).httpStatus : undefined;
    return fail(c, (status && status >= 400 && status <= 599 ? status : 422) as 422, done.message);
  }
  return ok(c, JSON.parse(done.result ?? "{}") as unknown);
});

const attemptSchema = z.coerce.number().int().positive();

/** The job behind an internal call (path parameter `param`), if `attempt` is its current running attempt of kind `lxd`. */
async function currentJob(c: Context<AppEnv>, attempt: unknown, param = "id"): Promise<JobRow> {
  const job = await getJob(c.env.DB, c.req.param(param) ?? "");
  if (!job || job.kind !== "lxd") throw new HubError(404, "no such lxd job");
  const n = attemptSchema.safeParse(attempt);
  if (!n.success) throw new HubError(400, "attempt required");
  if (job.status !== "running" || job.attempts !== n.data) throw new HubError(409, "stale attempt or finished job");
  return job;
}

/** `PUT /internal/images/jobs/<id>/<lxd.tar.xz|incus.tar.xz|rootfs.squashfs>` with `X-Job-Attempt`: one file. */
lxdJobs.put("/internal/images/jobs/:id/:file", requireInternal(), async (c) => {
  const job = await currentJob(c, c.req.header("X-Job-Attempt"));
  const file = c.req.param("file");
  if (file !== "lxd.tar.xz" && file !== "incus.tar.xz" && file !== "rootfs.squashfs") throw new HubError(400, "this file is not allowed");
  const length = Number(c.req.header("Content-Length") ?? "NaN");
  if (!Number.isSafeInteger(length) || length <= 0 || !c.req.raw.body) throw new HubError(411, "Content-Length required");
  const key = lxdImageKey(job.repository, job.name, job.created);
  const actor = { user: job.user, repository: job.repository };
  // The metadata comes first: it starts the attempt's version afresh (an earlier attempt may have left files), so
  // a retried job never leaves numbered copies, whatever HUB_IMAGES_ALLOW_OVERWRITES says.
  if (file === "lxd.tar.xz") {
    const stale = await deleteRows(c.env.DB, productKey(key), key.version);
    if (stale && stale.length > 0) await c.env.FLISTS.delete(stale);
  }
  const item = await storeImageFile(c.env, actor, key, file, { length, chunks: bodyChunks(c.req.raw.body) });
  await recordProgress(c.env, { id: job.id, attempt: job.attempts }, undefined);
  return ok(c, { product: item.product, version: item.version, name: item.name, sha256: item.sha256 });
});

/**
 * The converter's own parts for a converted image's rootfs when it is larger than one request to the hub may
 * carry (`HUB_REQUEST_MAX_BYTES`): the resumable image uploads of resumable.ts under
 * `/internal/images/jobs/<job>/uploads`, for the job's image, each call with `X-Job-Attempt` and renewing the lease.
 */
function jobAttempt(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const job = await currentJob(c, c.req.header("X-Job-Attempt"), "job");
    c.set("actor", { user: job.user, repository: job.repository });
    await next();
    if (c.res.ok) await recordProgress(c.env, { id: job.id, attempt: job.attempts }, undefined);
  };
}

lxdJobs.route(
  "/",
  imageUploadRoutes({
    base: "/internal/images/jobs/:job/uploads",
    guard: every(requireInternal(), jobAttempt()),
    schema: uploadSchema,
    target: async (c, body) => {
      const job = await currentJob(c, c.req.header("X-Job-Attempt"), "job");
      if (body.file !== "rootfs.squashfs") throw new HubError(400, "only rootfs.squashfs is sent in parts");
      return lxdImageKey(job.repository, job.name, job.created);
    },
  }),
);

/** `POST /internal/images/jobs/<id>/done` `{attempt}`: the alias, then the job succeeds with its final event. */
lxdJobs.post("/internal/images/jobs/:id/done", requireInternal(), async (c) => {
  const body = (await c.req.json().catch(() => ({}))) as { attempt?: unknown };
  const job = await currentJob(c, body.attempt);
  const key = lxdImageKey(job.repository, job.name, job.created);
  const product = productKey(key);
  const alias = `${key.os}/${key.release}`;
  const now = nowSeconds();
  await applyOverride(c.env.DB, product, { release_title: key.release, aliases: [alias] }, now);
  const result = { product, version: key.version, alias };
  const [update] = await c.env.DB.batch([
    markSucceeded(c.env.DB, { id: job.id, attempt: job.attempts }, JSON.stringify(result), now),
    appendFinalEvent(c.env.DB, job.id, "succeeded", { status: "info", info: { image: result } }, now),
  ]);
  if ((update?.meta.changes ?? 0) !== 1) throw new HubError(409, "stale attempt or finished job");
  return ok(c, result);
});
