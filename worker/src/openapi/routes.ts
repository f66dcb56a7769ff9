/**
 * `GET /api/openapi.json` (public, cacheable) and the API reference page `GET /api/docs` (under `/api`, a reserved
 * repository name, so it never meets a repository page or a `/<repo>/<file>` download). docs/openapi.md.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { applyPageHeaders } from "../web/security";
import { openapiDocument } from "./document";
import { referencePage } from "./page";

export const openapiRoutes = new Hono<AppEnv>();

// The document changes only with a deploy; a short public cache keeps a stale copy brief.
const CACHE = "public, max-age=300";

openapiRoutes.get("/api/openapi.json", (c) => c.json(openapiDocument(), 200, { "Cache-Control": CACHE }));

openapiRoutes.get("/api/docs", async (c) => {
  const res = await referencePage(c, openapiDocument());
  applyPageHeaders(res.headers);
  return res;
});
