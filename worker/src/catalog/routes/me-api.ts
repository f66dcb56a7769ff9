/**
 * Authenticated API `/api/flist/me/*` (docs/compatibility.md §3.4, §6): `me` is the acting repository chosen by
 * the auth middleware. The original's mutating GET routes are kept (zflist uses them) and also accept POST;
 * HEAD never mutates. `GET /api/flist/me` itself (the token check) belongs to the auth routes.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { requireActor } from "../../auth/middleware";
import type { AppEnv } from "../../env";
import { flistNameSchema, nameSchema } from "../../names";
import { fail, ok } from "../../http/respond";
import { param } from "../../http/params";
import { HubError } from "../../http/errors";
import {
  crosslink,
  crosstag,
  link,
  promote,
  remove,
  rename,
  restore,
  tagAdd,
  tagRemove,
} from "../write";
import { historyNames } from "../history";
import { catalogStore } from "../store/d1-r2";
import { contentsResponse } from "./public-api";

export const meApi = new Hono<AppEnv>();

/**
 * Hono answers HEAD by running the GET handler; on a mutating route that would mutate (as the original
 * did). Refuse it before authentication or storage are touched.
 */
const noHead: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "HEAD") {
    c.header("Allow", "GET, POST");
    return fail(c, 405, "HEAD does not perform this operation, use GET or POST");
  }
  await next();
};

const mutating = ["GET", "POST"];
const me = (c: Context<AppEnv>) => c.var.actor.repository;
const flist = (c: Context, name: string) => param(c, name, flistNameSchema);
const plain = (c: Context, name: string) => param(c, name, nameSchema);

// Registered before the generic `/:a/<verb>/...` patterns so that `promote` is never read as a name.
meApi.on(mutating, "/promote/:srcrepo/:srcfile/:localname", noHead, requireActor(), async (c) => {
  const result = await promote(catalogStore(c.env), me(c), plain(c, "srcrepo"), flist(c, "srcfile"), flist(c, "localname"));
  return ok(c, result);
});

meApi.on(mutating, "/:source/link/:linkname", noHead, requireActor(), async (c) => {
  await link(catalogStore(c.env), me(c), flist(c, "source"), flist(c, "linkname"));
  return ok(c);
});

meApi.on(mutating, "/:linkname/crosslink/:repo/:src", noHead, requireActor(), async (c) => {
  await crosslink(catalogStore(c.env), me(c), flist(c, "linkname"), plain(c, "repo"), flist(c, "src"));
  return ok(c);
});

meApi.on(mutating, "/:linkname/crosstag/:repo/:tag", noHead, requireActor(), async (c) => {
  await crosstag(catalogStore(c.env), me(c), plain(c, "linkname"), plain(c, "repo"), plain(c, "tag"));
  return ok(c);
});

meApi.on(mutating, "/:tag/:linkname/tag/:repo/:src", noHead, requireActor(), async (c) => {
  await tagAdd(catalogStore(c.env), me(c), plain(c, "tag"), flist(c, "linkname"), plain(c, "repo"), flist(c, "src"));
  return ok(c);
});

meApi.delete("/:tag/:linkname/tag/:repo/:src", requireActor(), async (c) => {
  await tagRemove(catalogStore(c.env), me(c), plain(c, "tag"), flist(c, "linkname"), plain(c, "repo"), flist(c, "src"));
  return ok(c);
});

meApi.on(mutating, "/:source/rename/:dest", noHead, requireActor(), async (c) => {
  await rename(catalogStore(c.env), me(c), flist(c, "source"), flist(c, "dest"));
  return ok(c);
});

meApi.post("/:name/restore/:version", requireActor(), async (c) => {
  const version = c.req.param("version");
  if (!/^[1-9]\d{0,9}$/.test(version)) throw new HubError(400, "invalid version: expected a positive integer");
  const names = historyNames(c.req.param("name"), flist(c, "name"));
  return ok(c, await restore(catalogStore(c.env), me(c), names, Number(version)));
});

meApi.get("/:name", requireActor(), async (c) => contentsResponse(c, me(c), flist(c, "name")));

meApi.delete("/:name", requireActor(), async (c) => {
  await remove(catalogStore(c.env), me(c), flist(c, "name"));
  return ok(c);
});
