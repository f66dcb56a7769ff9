/**
 * Public catalog API (docs/compatibility.md §3.2): listings, `/light`, `/taglink`, `/metadata`, contents, history,
 * and the content-addressed blob URLs. No authentication; every error is the JSON envelope.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env";
import { flistNameSchema, nameSchema } from "../../names";
import { param } from "../../http/params";
import { publicBackend } from "../../config";
import { HubError } from "../../http/errors";
import { ok } from "../../http/respond";
import { MIN_PART_SIZE, uploadConfig } from "../../jobs/config";
import { CACHE_IMMUTABLE, serveFlist } from "./serve-flist";
import { catalogStore } from "../store/d1-r2";
import {
  allEntryPaths,
  contentsListing,
  filesList,
  flistMetadata,
  lightInfo,
  repositoriesList,
  repositoryListing,
  tagListing,
  taglinkTarget,
} from "../read";
import { entryHistory, historyNames } from "../history";
import type { Limits } from "./responses";
import { edgeJson } from "../../edge/read";
import { edgeKeys } from "../../edge/keys";

export const publicApi = new Hono<AppEnv>();

const repoParam = (c: Context) => param(c, "repo", nameSchema);
const flistParam = (c: Context) => param(c, "name", flistNameSchema);

// The public chunk backend (HUB_BACKEND) that flists published here must name in their `backend` metadata:
// clients that build flists themselves (`zhub push`) read it here. `address` is the `host:port[/namespace]` form.
publicApi.get("/api/backend", (c) => {
  const backend = publicBackend(c.env);
  if (!backend) throw new HubError(404, "this hub has no public chunk backend configured");
  const address = `${backend.host}:${backend.port}${backend.namespace ? `/${backend.namespace}` : ""}`;
  return ok(c, { ...backend, address });
});

// What one upload may carry here, so a client picks the streamed PUT or the resumable parts without a refused
// request (zhub upload reads it). A hub without this route (the original) means: parts above 95 MiB.
publicApi.get("/api/limits", (c) =>
  ok(c, {
    requestMaxBytes: uploadConfig.requestMaxBytes(c.env),
    formMaxBytes: uploadConfig.formMaxBytes(c.env),
    streamedMaxBytes: uploadConfig.streamedMaxBytes(c.env),
    uploadMaxBytes: uploadConfig.maxBytes(c.env),
    partMinBytes: MIN_PART_SIZE,
    partMaxBytes: uploadConfig.partMaxBytes(c.env),
  } satisfies Limits),
);

// The listings and `/light` go through the edge cache (edge/read.ts; purged by every catalog write, store/edge-purge.ts).
publicApi.get("/api/repositories", (c) =>
  edgeJson(c, edgeKeys.catalog(c.env, "repositories"), () => repositoriesList(c.env, catalogStore(c.env))),
);

// Zero-OS bootstrap polls this as its health check: one indexed query over the catalog.
publicApi.get("/api/flist", (c) => edgeJson(c, edgeKeys.catalog(c.env, "paths"), () => allEntryPaths(catalogStore(c.env))));

publicApi.get("/api/fileslist", (c) => edgeJson(c, edgeKeys.catalog(c.env, "fileslist"), () => filesList(catalogStore(c.env))));

publicApi.get("/api/flist/:repo", (c) => {
  const repo = repoParam(c);
  return edgeJson(c, edgeKeys.listing(c.env, repo), () => repositoryListing(catalogStore(c.env), repo));
});

publicApi.get("/api/flist/:repo/tags/:tag", async (c) => {
  const repo = repoParam(c);
  return c.json(await tagListing(catalogStore(c.env), repo, param(c, "tag", nameSchema)));
});

const light = (c: Context<AppEnv>) => {
  const [repo, name] = [repoParam(c), flistParam(c)];
  return edgeJson(c, edgeKeys.light(c.env, repo, name), () => lightInfo(catalogStore(c.env), repo, name));
};
publicApi.get("/api/flist/:repo/:name/light", light);
// The original's custom `INFO` method. Note: workerd only accepts the HTTP methods it knows, and INFO is not
// one of them, so in practice clients must use `/light` (no known client uses INFO).
publicApi.on("INFO", "/api/flist/:repo/:name", light);

publicApi.get("/api/flist/:repo/:name/taglink", async (c) =>
  c.json(await taglinkTarget(catalogStore(c.env), repoParam(c), flistParam(c))),
);

publicApi.get("/api/flist/:repo/:name/metadata", async (c) =>
  c.json(await flistMetadata(c.env, catalogStore(c.env), repoParam(c), flistParam(c))),
);

publicApi.get("/api/flist/:repo/:name/history", async (c) => {
  const repo = repoParam(c);
  const names = historyNames(c.req.param("name"), flistParam(c));
  return c.json(await entryHistory(catalogStore(c.env), repo, names));
});

/** The contents listing (zflist `find`), streamed from R2 as stored at publish time. */
export async function contentsResponse(c: Context<AppEnv>, repo: string, name: string): Promise<Response> {
  const body = await contentsListing(catalogStore(c.env), repo, name);
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

publicApi.get("/api/flist/:repo/:name", async (c) => contentsResponse(c, repoParam(c), flistParam(c)));

/**
 * `/api/blobs/<sha256>.flist` (and `.flist.md5`): a flist by content. The bytes behind such a URL never
 * change, so it is served with immutable cache headers; history answers list these hashes.
 */
publicApi.get("/api/blobs/:file", async (c) => {
  const match = /^([0-9a-f]{64})\.flist(\.md5)?$/.exec(c.req.param("file"));
  if (!match) throw new HubError(404, "not found");
  const blob = await catalogStore(c.env).blob(match[1]!);
  if (!blob) throw new HubError(404, "source not found");
  if (match[2]) {
    const headers = { "Cache-Control": CACHE_IMMUTABLE, "Content-Type": "text/plain; charset=utf-8" };
    return c.text(`${blob.md5}\n`, 200, headers);
  }
  return serveFlist(c, blob, { lastModified: blob.created, cacheControl: CACHE_IMMUTABLE });
});

