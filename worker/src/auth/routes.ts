/**
 * Authentication routes, mounted by the app with `app.route("/", authApi)`:
 *
 *   GET    /api/flist/me                       who am I (the original's token check; 0-hub-gw, zflist)
 *   POST   /api/flist/me/tokens/revoke         {"token": "<token>"} | {"all": true}
 *   PUT    /internal/members/:repo/:user       admin (Bearer INTERNAL_SECRET): let :user act for :repo
 *   DELETE /internal/members/:repo/:user       admin: remove that membership
 *   GET    /internal/members/:repo             admin: {"repository", "members": [...]}
 *   GET    /internal/users/:user/repositories  admin: {"user", "repositories": [...]}
 *   POST   /internal/tokens/revoke             admin: {"token"} | {"user", "all": true} | {"user", "notBefore": ts}
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { nameSchema, repositorySchema } from "../names";
import { param } from "../http/params";
import { fail, ok } from "../http/respond";
import { requireInternal } from "./internal";
import { requireActor } from "./middleware";
import type { Whoami } from "./responses";
import { addMember, listMembers, listRepositoriesOf, removeMember, revokeToken, setNotBefore } from "./store";
import { isValidSeedHex, tokenDigest, verifyToken } from "./tokens";

const now = () => Math.floor(Date.now() / 1000);

export const userRevokeSchema = z.union([
  z.strictObject({ token: z.string().min(1) }),
  z.strictObject({ all: z.literal(true) }),
]);

const adminRevokeSchema = z.union([
  z.strictObject({ token: z.string().min(1) }),
  z.strictObject({ user: nameSchema, all: z.literal(true) }),
  z.strictObject({ user: nameSchema, notBefore: z.number().int().nonnegative() }),
]);

async function readJson(c: Context<AppEnv>): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await c.req.json() };
  } catch {
    return { ok: false };
  }
}

export const authApi = new Hono<AppEnv>();

// "me" is the acting repository: `zflist hub username` must print the `active-user` it asked for.
authApi.get("/api/flist/me", requireActor(), (c) => ok(c, { username: c.var.actor.repository } satisfies Whoami));

authApi.post("/api/flist/me/tokens/revoke", requireActor(), async (c) => {
  const body = await readJson(c);
  if (!body.ok) return fail(c, 400, "malformed json request");
  const parsed = userRevokeSchema.safeParse(body.value);
  if (!parsed.success) return fail(c, 400, 'expected {"token": "<token>"} or {"all": true}');
  const user = c.var.actor.user;
  if ("all" in parsed.data) {
    const notBefore = await setNotBefore(c.env.DB, user, now());
    return ok(c, { user, notBefore });
  }
  const verified = await verifyToken(c.env.HUB_SIGNING_SEED, parsed.data.token);
  // Users revoke their own tokens only; an unknown or foreign token is the caller's mistake, not a no-op.
  if (!verified) return fail(c, 400, "not a token of this hub");
  if (verified.user !== user) return fail(c, 403, "this token belongs to another user");
  await revokeToken(c.env.DB, await tokenDigest(verified.bytes), verified.user, verified.issuedAt, now());
  return ok(c, { user, revoked: 1 });
});

// The guard is per route (not `use("*")`) so that it never runs in front of other groups' `/internal/*` routes.
const internal = new Hono<AppEnv>();
const admin = requireInternal();

// Adding a member may bring the repository into being, so its name must be one a repository may take; removing
// and listing take any valid name (a membership recorded before a name was reserved can still be removed).
internal.put("/members/:repository/:user", admin, async (c) => {
  const repository = param(c, "repository", repositorySchema);
  const user = param(c, "user", nameSchema);
  // Acting as oneself needs no record; refusing keeps the table meaningful.
  if (repository === user) return fail(c, 400, "a user always acts as its own repository");
  const added = await addMember(c.env.DB, repository, user, now());
  return ok(c, { repository, user, added });
});

internal.delete("/members/:repository/:user", admin, async (c) => {
  const repository = param(c, "repository", nameSchema);
  const user = param(c, "user", nameSchema);
  if (!(await removeMember(c.env.DB, repository, user))) return fail(c, 404, "membership not found");
  return ok(c, { repository, user });
});

internal.get("/members/:repository", admin, async (c) => {
  const repository = param(c, "repository", nameSchema);
  return ok(c, { repository, members: await listMembers(c.env.DB, repository) });
});

internal.get("/users/:user/repositories", admin, async (c) => {
  const user = param(c, "user", nameSchema);
  return ok(c, { user, repositories: await listRepositoriesOf(c.env.DB, user) });
});

internal.post("/tokens/revoke", admin, async (c) => {
  const body = await readJson(c);
  if (!body.ok) return fail(c, 400, "malformed json request");
  const parsed = adminRevokeSchema.safeParse(body.value);
  if (!parsed.success) {
    return fail(c, 400, 'expected {"token"}, {"user", "all": true} or {"user", "notBefore": <unix seconds>}');
  }
  const data = parsed.data;
  if ("token" in data) {
    if (!isValidSeedHex(c.env.HUB_SIGNING_SEED)) return fail(c, 500, "hub signing key is not configured");
    const verified = await verifyToken(c.env.HUB_SIGNING_SEED, data.token);
    if (!verified) return fail(c, 400, "not a token of this hub");
    await revokeToken(c.env.DB, await tokenDigest(verified.bytes), verified.user, verified.issuedAt, now());
    return ok(c, { user: verified.user, revoked: 1 });
  }
  const notBefore = await setNotBefore(c.env.DB, data.user, "all" in data ? now() : data.notBefore);
  return ok(c, { user: data.user, notBefore });
});

authApi.route("/internal", internal);
