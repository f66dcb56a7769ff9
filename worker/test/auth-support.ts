/** Shared helpers of the auth test files (not a test file itself). */
import { env as rawEnv } from "cloudflare:workers";
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { Hono } from "hono";
import type { AppEnv, Env } from "../src/env";
import { requireActor } from "../src/auth/middleware";
import { authApi } from "../src/auth/routes";
import { signToken } from "../src/auth/tokens";
import { onError } from "../src/http/errors";

/** The test bindings, typed (test/env.d.ts's augmentation does not reach the Env members under tsc). */
export const env = rawEnv as unknown as Env & {
  TEST_MIGRATIONS: D1Migration[];
  TEST_FIXTURES: Record<string, { flist: string; find: unknown; metadata: Record<string, unknown> }>;
};
export const SEED = env.HUB_SIGNING_SEED;
/** A different, valid seed: tokens it signs must be refused by the hub. */
export const OTHER_SEED = "1111111111111111111111111111111111111111111111111111111111111111";
export const now = () => Math.floor(Date.now() / 1000);

export async function migrate(): Promise<void> {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
}

/**
 * The auth routes as the app mounts them (with its JSON error handler), plus `/probe`, a stand-in mutating route guarded by the real
 * middleware, so the middleware is tested without depending on the catalog routes.
 */
export function authApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.all("/probe", requireActor(), (c) => c.json({ status: "success", payload: c.var.actor }));
  app.route("/", authApi);
  return app;
}

export function call(
  path: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
): Promise<Response> {
  const bindings: Env = { ...env, ...overrides };
  return Promise.resolve(authApp().fetch(new Request(`http://hub.test${path}`, init), bindings));
}

export function bearer(token: string, extra: Record<string, string> = {}): RequestInit {
  return { headers: { Authorization: `bearer ${token}`, ...extra } };
}

export const internalHeaders = (extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${env.INTERNAL_SECRET}`,
  ...extra,
});

export async function tokenFor(user: string, issuedAt = now() - 5): Promise<string> {
  return signToken(SEED, user, issuedAt);
}

export async function addMembership(repository: string, user: string): Promise<void> {
  const res = await call(`/internal/members/${encodeURIComponent(repository)}/${encodeURIComponent(user)}`, {
    method: "PUT",
    headers: internalHeaders(),
  });
  if (res.status !== 200) throw new Error(`membership setup failed: ${res.status} ${await res.text()}`);
}
