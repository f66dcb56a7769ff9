/**
 * First path segments the site (or the API) owns: a repository with one of these names cannot be browsed at
 * `/<name>`, exactly as in the original (static routes win over `/<repo>` in its router). Its downloads
 * (`/<name>/<file>.flist`) still work: they have two segments.
 */
export const RESERVED_PAGES = new Set([
  "api",
  "internal",
  "listen",
  "static",
  "upload",
  "upload-flist",
  "merge",
  "docker-convert",
  "search",
  "readonly",
  "login",
  "login-method",
  "logout",
  "token",
  "account",
  "jobs",
]);
