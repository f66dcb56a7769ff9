/**
 * The website: server-rendered pages (hono/jsx) plus one static script and stylesheet.
 * Mounted in app.ts after the `/api/...` groups and before the downloads, so `/<repo>/<name>.flist` and friends
 * keep working; pages that share a first segment with a repository name win, as in the original.
 *
 * Every HTML answer gets the Content-Security-Policy (security.ts); JSON errors become error pages for browsers
 * (error-pages.tsx).
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { RESERVED_REPOSITORY_NAMES, flistNameSchema, nameSchema } from "../names";
import { HubError } from "../http/errors";
import { param } from "../http/params";
import { accountRoutes } from "./account/routes";
import { requireCsrf } from "./csrf";
import { htmlErrors } from "./error-pages";
import { urls } from "./format";
import { flistPage } from "./pages/flist";
import { homePage } from "./pages/home";
import { repositoryPage } from "./pages/repository";
import { restoreAction } from "./pages/restore";
import { tagPage } from "./pages/tag";
import { publishRoutes } from "./publish/actions";
import { lxdAction } from "./publish/lxd";
import { searchJson, searchPage } from "./search/page";
import { applyPageHeaders, isHtml } from "./security";
import { requireSession } from "./session";
import { signinRoutes } from "./signin/routes";
import { findAsset } from "./static/assets";
import { treeRoutes } from "./tree/routes";
import { checked } from "../http/validate";

export const web = new Hono<AppEnv>();

function pageHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (isHtml(c.res)) applyPageHeaders(c.res.headers);
  };
}

// Order matters: htmlErrors replaces c.res, pageHeaders then sees the final answer.
web.use("*", pageHeaders());
web.use("*", htmlErrors());

web.get("/static/:file", (c) => {
  const asset = findAsset(c.req.param("file"));
  if (!asset) throw new HubError(404, "not found");
  return c.body(asset.body, 200, {
    "Content-Type": asset.type,
    "Cache-Control": asset.immutable ? "public, max-age=31536000, immutable" : "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
  });
});

// Sign-in and My account (sign-in developer's modules), then the site's own fixed paths, then `/<repo>…`.
web.route("/", signinRoutes);
web.route("/", accountRoutes);
web.route("/", treeRoutes);
web.get("/api/search", searchJson);
web.get("/search", searchPage);
web.route("/", publishRoutes);

web.get("/", homePage);

const FLIST_PAGE = "/:repo/:page{.+\\.flist\\.html}";
const flistOfPage = (page: string) => {
  return checked(flistNameSchema, page.slice(0, -".html".length), "page");
};

web.get(FLIST_PAGE, (c) => flistPage(c, param(c, "repo", nameSchema), flistOfPage(c.req.param("page"))));
web.post(`${FLIST_PAGE}/restore`, requireSession(), requireCsrf(), (c) =>
  restoreAction(c, param(c, "repo", nameSchema), flistOfPage(c.req.param("page"))),
);

web.post(`${FLIST_PAGE}/lxd`, requireSession(), requireCsrf(), (c) =>
  lxdAction(c, param(c, "repo", nameSchema), flistOfPage(c.req.param("page"))),
);

// The original's preview URL: kept, permanently moved to the flist page.
web.get("/:repo/:file{.+\\.md}", (c) => {
  const repo = param(c, "repo", nameSchema);
  const name = checked(flistNameSchema, c.req.param("file").slice(0, -".md".length), "file");
  return c.redirect(urls.flist(repo, name), 301);
});

web.get("/:repo/tags/:tag", (c) => tagPage(c, param(c, "repo", nameSchema), param(c, "tag", nameSchema)));

web.get("/:repo", (c) => {
  const repo = c.req.param("repo");
  // Page names and API prefixes are never repository pages (their own routes answered already, or 404).
  if (RESERVED_REPOSITORY_NAMES.has(repo)) throw new HubError(404, "not found");
  return repositoryPage(c, param(c, "repo", nameSchema));
});
