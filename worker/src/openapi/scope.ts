/**
 * What the document leaves out, by route pattern: the website's HTML pages and form actions (docs/website.md),
 * its static files, the `/internal/...` routes (the converter's and the operator's, docs/jobs-protocol.md), and
 * the original's `INFO` method (no OpenAPI method; `/light` answers the same). The contract test
 * (worker/test/openapi-contract.test.ts) checks every other route of the app is in the document.
 */
export function outOfScope(method: string, route: string): boolean {
  if (route.startsWith("/internal/")) return true;
  if (method === "INFO") return true;
  return WEBSITE.some((pattern) => (typeof pattern === "string" ? pattern === route : pattern.test(route)));
}

const WEBSITE: (string | RegExp)[] = [
  "/",
  "/api/docs",
  "/static/:file",
  /^\/(login-method|login|token|callback_threebot|callback_token|logout|login\/local)(\/|$)/,
  /^\/account(\/|$)/,
  "/search",
  /^\/upload\/parts(\/|$)/,
  /^\/(readonly|upload|upload-flist|merge|docker-convert)$/,
  "/jobs/:id",
  "/upload/:filename",
  "/upload-flist/:filename",
  /^\/:repo\/:(page|file)\{/,
  "/:repo/tags/:tag",
  "/:repo",
];
