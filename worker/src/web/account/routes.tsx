/**
 * My account (signed in), mounted at "/" by the website:
 *
 *   GET  /account                          who, acting repository, API tokens, recent jobs
 *   POST /account/repository               switch the acting repository (one of the user's memberships)
 *   POST /account/tokens                   create a named token with a lifetime; its value is shown once
 *   POST /account/tokens/<id>/revoke       revoke one of the user's registered tokens
 *
 * Every POST needs the session's CSRF token. Pages are `Cache-Control: no-store` (a token is shown once).
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { TOKEN_NAME_MAX, createToken, listTokens, revokeRegistered } from "../../auth/registry";
import { hubOrigin } from "../../auth/web-config";
import { textProblem } from "../../names";
import type { AppEnv } from "../../env";
import { jobsOfRepository } from "../../jobs/store";
import { requireCsrf } from "../csrf";
import { page } from "../signin/page";
import { requireSession, sessionOf, switchRepository } from "../session";
import { TokenShownBody } from "../signin/pages";
import { AccountBody, type Notice } from "./pages";
import { DEFAULT_LIFETIME, lifetimes } from "./lifetimes";

export const accountRoutes = new Hono<AppEnv>();

const RECENT_JOBS = 20;
const now = () => Math.floor(Date.now() / 1000);

// Path-scoped (never `use("*")`, which would run in front of every page once mounted at "/").
const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
};
accountRoutes.use("/account", requireSession(), noStore);
accountRoutes.use("/account/:action{.+}", requireSession(), requireCsrf(), noStore);

const NOTICES = new Set<Notice>(["switched", "revoked", "not-member", "unknown-token"]);

async function accountPage(
  c: Context<AppEnv>,
  options: { notice?: Notice; formError?: string; formName?: string; lifetime?: string } = {},
  status: 200 | 400 = 200,
): Promise<Response> {
  const session = sessionOf(c);
  const [tokens, jobs] = await Promise.all([
    listTokens(c.env.DB, session.user),
    jobsOfRepository(c.env.DB, session.repository, RECENT_JOBS),
  ]);
  const offered = lifetimes(c.env.HUB_TOKEN_MAX_AGE);
  const wanted = options.lifetime ?? DEFAULT_LIFETIME;
  const defaultLifetime = offered.some((l) => l.value === wanted) ? wanted : (offered[offered.length - 1]?.value ?? "");
  return page(
    c,
    { title: "My account", active: "account" },
    <AccountBody
      session={session}
      tokens={tokens}
      jobs={jobs}
      lifetimes={offered}
      defaultLifetime={defaultLifetime}
      notice={options.notice ?? null}
      formError={options.formError}
      formName={options.formName}
      now={now()}
    />,
    status,
  );
}

accountRoutes.get("/account", (c) => {
  const raw = c.req.query("done") as Notice | undefined;
  return accountPage(c, { notice: raw && NOTICES.has(raw) ? raw : null });
});

async function form(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody().catch(() => ({}));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

accountRoutes.post("/account/repository", async (c) => {
  const { repository = "" } = await form(c);
  const updated = await switchRepository(c, repository);
  return c.redirect(`/account?done=${updated ? "switched" : "not-member"}#repository`, 303);
});

const tokenFormSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, "Give the token a name.")
    .max(TOKEN_NAME_MAX, `A token name has at most ${TOKEN_NAME_MAX} characters.`)
    // The display part of the name rule (docs/names.md): the list shows it, so nothing may make it read otherwise.
    .refine((s) => !textProblem(s), "A token name cannot contain control, bidirectional-text or line-separator characters."),
  lifetime: z.string(),
});

accountRoutes.post("/account/tokens", async (c) => {
  const session = sessionOf(c);
  const body = await form(c);
  const parsed = tokenFormSchema.safeParse({ name: body.name ?? "", lifetime: body.lifetime ?? "" });
  if (!parsed.success) {
    const formError = parsed.error.issues[0]?.message;
    return accountPage(c, { formError, formName: body.name, lifetime: body.lifetime }, 400);
  }
  const lifetime = lifetimes(c.env.HUB_TOKEN_MAX_AGE).find((l) => l.value === parsed.data.lifetime);
  if (!lifetime) {
    return accountPage(c, { formError: "Pick one of the offered lifetimes.", formName: parsed.data.name }, 400);
  }
  const { token, record } = await createToken(
    c.env.DB,
    c.env.HUB_SIGNING_SEED,
    session.user,
    parsed.data.name,
    lifetime.seconds,
  );
  return page(
    c,
    { title: "New API token", active: "account" },
    <TokenShownBody
      heading="New API token"
      token={token}
      user={session.user}
      origin={hubOrigin(c)}
      name={record.name}
      expires={record.expires}
    />,
  );
});

accountRoutes.post("/account/tokens/:id/revoke", async (c) => {
  const id = c.req.param("id");
  const ok = /^[0-9a-f]{64}$/.test(id) && (await revokeRegistered(c.env.DB, sessionOf(c).user, id));
  return c.redirect(`/account?done=${ok ? "revoked" : "unknown-token"}#tokens`, 303);
});
