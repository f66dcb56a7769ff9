/** The catalog: public reads, the `me` API, downloads (docs/catalog-api.md). */
import { z } from "zod";
import { flistNameSchema, nameSchema } from "../../names";
import {
  backendSchema,
  contentsListingSchema,
  entryPathsSchema,
  filesListSchema,
  flistCardSchema,
  flistDownloadsSchema,
  historySchema,
  lightSchema,
  limitsSchema,
  listingSchema,
  metadataSchema,
  promoteSchema,
  repositoriesSchema,
  repositoryDownloadsSchema,
  restoreSchema,
  taglinkSchema,
} from "../../catalog/routes/responses";
import { treeAnswerSchema } from "../../web/tree/responses";
import { querySchema as treeQuerySchema } from "../../web/tree/routes";
import { badName, error, notFound, success, unauthorized } from "../answers";
import type { Answer, Operation } from "../operation";
import { successSchema } from "../../http/envelope";

const repo = nameSchema.describe("a repository (user or organisation)");
const flist = flistNameSchema.describe("a flist or link name, with or without `.flist`");
const name = nameSchema;

const read = (json: z.ZodType, description = "the answer"): Record<number, Answer> => ({
  200: { description, json },
  400: badName,
  404: notFound,
});

const tag = "catalog";
const me = "catalog (me)";

const publicReads: Operation[] = [
  {
    method: "get",
    route: "/api/backend",
    tag,
    summary: "The public chunk backend flists published here must name",
    answers: { 200: { description: "the backend", json: backendSchema }, 404: error("no public backend configured") },
  },
  {
    method: "get",
    route: "/api/limits",
    tag,
    summary: "What one upload may carry on this hub",
    answers: { 200: { description: "the limits in bytes", json: limitsSchema } },
  },
  { method: "get", route: "/api/repositories", tag, summary: "Every repository", answers: { 200: { description: "the repositories", json: repositoriesSchema } } },
  { method: "get", route: "/api/flist", tag, summary: "Every `<repo>/<name>` (Zero-OS bootstrap's health check)", answers: { 200: { description: "the paths", json: entryPathsSchema } } },
  { method: "get", route: "/api/fileslist", tag, summary: "Every repository's listing", answers: { 200: { description: "repository → listing", json: filesListSchema } } },
  { method: "get", route: "/api/flist/:repo", tag, summary: "A repository's listing", params: { repo }, answers: read(listingSchema) },
  {
    method: "get",
    route: "/api/flist/:repo/tags/:tag",
    tag,
    summary: "A tag's members",
    params: { repo, tag: name },
    answers: read(listingSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/light",
    tag,
    summary: "Size, time and md5 of one flist or link",
    params: { repo, name: flist },
    answers: read(lightSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/downloads",
    tag,
    summary: "How often the flist a name resolves to was downloaded (docs/catalog-api.md \"Download counts\")",
    params: { repo, name: flist },
    answers: read(flistDownloadsSchema),
  },
  {
    method: "get",
    route: "/api/downloads/:repo",
    tag,
    summary: "Downloads per flist of a repository (those downloaded at least once)",
    params: { repo },
    answers: read(repositoryDownloadsSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/taglink",
    tag,
    summary: "Where a taglink points",
    params: { repo, name: flist },
    answers: read(taglinkSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/metadata",
    tag,
    summary: "A flist's metadata (backend credentials removed)",
    params: { repo, name: flist },
    answers: read(metadataSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/history",
    tag,
    summary: "The version history of a name",
    params: { repo, name: flist },
    answers: read(historySchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name/tree",
    tag,
    summary: "One directory level of a flist's contents, or the paths containing `q`",
    params: { repo, name: flist },
    query: Object.fromEntries(Object.entries(treeQuerySchema.shape).map(([k, schema]) => [k, { schema }])),
    answers: read(treeAnswerSchema),
  },
  {
    method: "get",
    route: "/api/flist/:repo/:name",
    tag,
    summary: "A flist's contents listing (zflist `find`)",
    params: { repo, name: flist },
    answers: read(contentsListingSchema),
  },
  {
    method: "get",
    route: "/api/blobs/:file",
    tag,
    summary: "A flist by its SHA-256: `<sha256>.flist` or `<sha256>.flist.md5` (immutable)",
    params: { file: z.string().regex(/^[0-9a-f]{64}\.flist(\.md5)?$/) },
    answers: {
      200: { description: "the flist's bytes, or its md5 plus a newline (`.md5`)", media: ["application/octet-stream", "text/plain"] },
      206: { description: "the range asked for", media: ["application/octet-stream"] },
      304: { description: "not modified" },
      404: notFound,
      416: error("unsatisfiable range"),
    },
  },
];

/** The original's mutating routes answer GET (zflist uses it) and POST alike. */
function mutating(route: string, summary: string, params: Record<string, z.ZodType>, json: z.ZodType = successSchema): Operation[] {
  const answers: Record<number, Answer> = {
    200: { description: "done", json },
    400: badName,
    401: unauthorized,
    404: notFound,
    409: error("the destination is a flist of another kind, or a link would loop"),
  };
  return (["get", "post"] as const).map((method) => ({ method, route: `/api/flist/me${route}`, tag: me, summary, auth: true, params, answers }));
}

const meRoutes: Operation[] = [
  ...mutating("/promote/:srcrepo/:srcfile/:localname", "Copy another repository's flist into mine", { srcrepo: repo, srcfile: flist, localname: flist }, promoteSchema),
  ...mutating("/:source/link/:linkname", "Link `linkname` to my flist `source`", { source: flist, linkname: flist }),
  ...mutating("/:linkname/crosslink/:repo/:src", "Link `linkname` to another repository's flist", { linkname: flist, repo, src: flist }),
  ...mutating("/:linkname/crosstag/:repo/:tag", "Taglink `linkname` to another repository's tag", { linkname: name, repo, tag: name }),
  ...mutating("/:tag/:linkname/tag/:repo/:src", "Add `<repo>/<src>` to my tag as `linkname`", { tag: name, linkname: flist, repo, src: flist }),
  {
    method: "delete",
    route: "/api/flist/me/:tag/:linkname/tag/:repo/:src",
    tag: me,
    summary: "Remove a member from my tag",
    auth: true,
    params: { tag: name, linkname: flist, repo, src: flist },
    answers: { 200: success, 400: badName, 401: unauthorized, 404: notFound },
  },
  ...mutating("/:source/rename/:dest", "Rename my flist or link", { source: flist, dest: flist }),
  {
    method: "post",
    route: "/api/flist/me/:name/restore/:version",
    tag: me,
    summary: "Make a version of my name current again",
    auth: true,
    params: { name: flist, version: z.string().regex(/^[1-9]\d{0,9}$/) },
    answers: { 200: { description: "restored", json: restoreSchema }, 400: badName, 401: unauthorized, 404: notFound, 409: error("the version's flist was collected") },
  },
  {
    method: "get",
    route: "/api/flist/me/:name",
    tag: me,
    summary: "The contents listing of my flist",
    auth: true,
    params: { name: flist },
    answers: { ...read(contentsListingSchema), 401: unauthorized },
  },
  {
    method: "delete",
    route: "/api/flist/me/:name",
    tag: me,
    summary: "Delete my flist, link or taglink (kept in the history)",
    auth: true,
    params: { name: flist },
    answers: { 200: success, 400: badName, 401: unauthorized, 404: notFound },
  },
];

const downloads: Operation[] = [
  {
    method: "get",
    route: "/:repo/:file",
    tag: "downloads",
    summary: "Download `<name>.flist`, or its `.flist.md5`, `.txt` card or `.json` card",
    description: "Links are followed. Range, ETag and If-Modified-Since as docs/catalog-api.md \"Downloads\".",
    params: { repo, file: z.string().describe("`<name>.flist`, `<name>.flist.md5`, `<name>.txt` or `<name>.json`") },
    answers: {
      200: { description: "the flist's bytes (`.flist`), its md5 (`.flist.md5`, text) or its card (`.txt` text, `.json` JSON below)", json: flistCardSchema, media: ["application/octet-stream", "text/plain"] },
      206: { description: "the range asked for", media: ["application/octet-stream"] },
      304: { description: "not modified" },
      400: badName,
      404: notFound,
      416: error("unsatisfiable range"),
    },
  },
  {
    method: "get",
    route: "/:repo/tags/:tag/:file",
    tag: "downloads",
    summary: "Download a tag member `<name>.flist`",
    params: { repo, tag: name, file: z.string().describe("`<name>.flist`") },
    answers: {
      200: { description: "the flist's bytes", media: ["application/octet-stream"] },
      206: { description: "the range asked for", media: ["application/octet-stream"] },
      304: { description: "not modified" },
      400: badName,
      404: notFound,
    },
  },
];

export const catalogOperations: Operation[] = [...publicReads, ...meRoutes, ...downloads];
