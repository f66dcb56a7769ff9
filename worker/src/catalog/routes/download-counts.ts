/**
 * Download counts in the API (docs/catalog-api.md "Download counts"): new routes, so no answer a client of the
 * original parses changes shape. Not edge-cached: a count is the one thing here expected to move all the time.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { flistNameSchema, nameSchema } from "../../names";
import { param } from "../../http/params";
import { catalogStore } from "../store/d1-r2";
import { requireRepository, resolveFlist } from "../read";
import { downloadCount, repositoryDownloads } from "../../counts/store";

export const downloadCounts = new Hono<AppEnv>();

/** `{"<name>.flist": count}` for every flist of the repository downloaded at least once. */
downloadCounts.get("/api/downloads/:repo", async (c) => {
  const repo = param(c, "repo", nameSchema);
  const [, counts] = await Promise.all([requireRepository(catalogStore(c.env), repo), repositoryDownloads(c.env.DB, repo)]);
  return c.json(Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
});

/** The downloads of what `<repo>/<name>` resolves to (a link answers its target's count, named in `flist`). */
downloadCounts.get("/api/flist/:repo/:name/downloads", async (c) => {
  const repo = param(c, "repo", nameSchema);
  const name = param(c, "name", flistNameSchema);
  const { file } = await resolveFlist(catalogStore(c.env), repo, name);
  const downloads = await downloadCount(c.env.DB, file.repository, file.name);
  return c.json({ name, flist: `${file.repository}/${file.name}`, downloads });
});
