/**
 * The flist page's "Make an LXD image" button: `POST /<repo>/<name>.flist.html/lxd`, authorised by the
 * session (owner = the session's acting repository) and its CSRF token instead of an API token. It starts the
 * job through the same `startLxdJob` as `POST /api/flist/me/<name>/lxd` (images/lxd-jobs.ts), then sends the
 * browser to the job page `/jobs/<id>`, which follows its events.
 *
 * Also the page's read-only look-up of the image a finished job made (product `<repo>:<flist>:amd64:default`,
 * alias `<repo>/<flist>`, set by the job's `/done`).
 */
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { FLIST_SUFFIX } from "../../names";
import { HubError } from "../../http/errors";
import { getProduct } from "../../images/store";
import { productKey, segmentSchema } from "../../images/names";
import { startLxdJob } from "../../images/lxd-jobs";
import { sessionOf } from "../session";

const isReadonly = (c: Context<AppEnv>) => (c.env.HUB_READONLY ?? "").trim().toLowerCase() === "true";

function releaseOf(name: string): string {
  return name.endsWith(FLIST_SUFFIX) ? name.slice(0, -FLIST_SUFFIX.length) : name;
}

/** Whether `<repo>/<name>` can name an LXD image at all (image path segments are stricter than flist names). */
export function canNameImage(repo: string, name: string): boolean {
  return segmentSchema.safeParse(repo).success && segmentSchema.safeParse(releaseOf(name)).success;
}

/** The LXD image of a flist, once an `lxd` job finished (its alias is set by the job's `/done`). */
export async function flistImage(db: D1Database, repo: string, name: string): Promise<{ alias: string } | null> {
  if (!canNameImage(repo, name)) return null;
  const release = releaseOf(name);
  const product = await getProduct(db, productKey({ os: repo, release, arch: "amd64", variant: "default" }));
  const alias = `${repo}/${release}`;
  if (!product || product.repository !== repo || !product.aliases.split(",").includes(alias)) return null;
  return { alias };
}

export async function lxdAction(c: Context<AppEnv>, repo: string, name: string): Promise<Response> {
  if (isReadonly(c)) throw new HubError(503, "this hub is read-only");
  const session = sessionOf(c);
  if (session.repository !== repo) {
    throw new HubError(403, `you act for ${session.repository}, not ${repo}: switch repository on your account page`);
  }
  const job = await startLxdJob(c.env, { user: session.user, repository: repo }, name);
  return c.redirect(`/jobs/${job.id}`, 303);
}
