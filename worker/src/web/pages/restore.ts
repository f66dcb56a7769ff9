/**
 * `POST /<repo>/<name>.flist.html/restore` (form field `version`): the flist page's restore button. Same service
 * as the API's `POST /api/flist/me/<name>/restore/<version>`, authorised by the session (owner of the
 * repository = the session's acting repository) and its CSRF token instead of an API token.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { HubError } from "../../http/errors";
import { restore } from "../../catalog/write";
import { sessionOf } from "../session";
import { urls } from "../format";
import { catalogStore } from "../../catalog/store/d1-r2";

const formSchema = z.object({ version: z.coerce.number().int().positive() });

export async function restoreAction(c: Context<AppEnv>, repo: string, name: string): Promise<Response> {
  const session = sessionOf(c);
  if (session.repository !== repo) {
    throw new HubError(403, `you act for ${session.repository}, not ${repo}: switch repository on your account page`);
  }
  const form = formSchema.safeParse(await c.req.parseBody());
  if (!form.success) throw new HubError(400, "invalid version");
  const { restored } = await restore(catalogStore(c.env), repo, [name], form.data.version);
  return c.redirect(`${urls.flist(repo, name)}?restored=${restored}`, 303);
}
