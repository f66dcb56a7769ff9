/**
 * Response schemas of the catalog routes (public API, `me` API, downloads): the shapes catalog/read.ts,
 * catalog/listing.ts and catalog/history.ts answer, as the OpenAPI document publishes them (docs/openapi.md).
 */
import { z } from "zod";
import { contentsSchema } from "../../../../protocol/publish";
import { okSchema, type Assert, type Same } from "../../http/envelope";
import type { ListingEntry } from "../listing";
import type { History } from "../history";

const time = z.number().int().describe("unix seconds");
const kind = z.enum(["regular", "symlink", "taglink"]);

export const listingEntrySchema = z
  .union([
    z.object({ name: z.string(), size: z.string(), updated: time, type: z.literal("regular") }),
    z.object({
      name: z.string(),
      size: z.string(),
      updated: time,
      linktime: time,
      type: z.enum(["symlink", "taglink"]),
      target: z.string(),
    }),
    z.object({ name: z.string(), size: z.string(), updated: time, type: z.literal("tag") }),
  ])
  .describe('one entry of a listing; `size` is the original\'s "x.xx KB" string')
  ;

export const listingSchema = z.array(listingEntrySchema);

export const repositoriesSchema = z.array(z.object({ name: z.string(), official: z.boolean(), updated: time }));

export const entryPathsSchema = z.array(z.string()).describe("every `<repo>/<name>` of the catalog");

export const filesListSchema = z.record(z.string(), listingSchema).describe("repository → its listing");

export const lightSchema = z.union([
  z.object({ name: z.string(), size: z.number().int(), updated: time, type: z.literal("regular"), md5: z.string() }),
  z.object({
    name: z.string(),
    size: z.number().int(),
    updated: time,
    linktime: time,
    type: z.literal("symlink"),
    target: z.string().describe("the raw target, e.g. ../repo/x.flist"),
    md5: z.string().nullable().describe("null when the link dangles or loops"),
  }),
]);

export const taglinkSchema = z.object({ target: z.string().describe("repo/tags/tag") });

export const metadataSchema = z
  .record(z.string(), z.unknown())
  .describe("metadata key → JSON value; `backend` without credentials, or `backend-forced`");

export const contentsListingSchema = contentsSchema;

const versionSchema = z.object({
  version: z.number().int().positive(),
  type: kind,
  sha256: z.string().optional(),
  md5: z.string().nullable().optional(),
  size: z.number().int().nullable().optional(),
  target: z.string().optional(),
  updated: time,
  linktime: time.optional(),
  replaced: time,
  reason: z.string(),
});

export const historySchema = z.object({
  repository: z.string(),
  name: z.string(),
  current: z
    .object({ type: kind, sha256: z.string().optional(), target: z.string().optional(), updated: time })
    .nullable(),
  versions: z.array(versionSchema),
});

export const backendSchema = okSchema(
  z.object({
    host: z.string(),
    port: z.number().int(),
    namespace: z.string().optional(),
    address: z.string().describe("host:port[/namespace]"),
  }),
);

export const limitsSchema = okSchema(
  z.object({
    requestMaxBytes: z.number().int(),
    formMaxBytes: z.number().int(),
    streamedMaxBytes: z.number().int(),
    uploadMaxBytes: z.number().int(),
    partMinBytes: z.number().int(),
    partMaxBytes: z.number().int(),
  }),
);
export type Limits = z.infer<typeof limitsSchema>["payload"];

const place = z.object({ username: z.string(), filename: z.string() });
export const promoteSchema = okSchema(z.object({ source: place, destination: place }));

export const restoreSchema = okSchema(z.object({ name: z.string(), restored: z.number().int() }));

/** `/<repo>/<name>.json` (the original's intended answer, docs/compatibility.md §6.9). */
export const flistCardSchema = z.object({
  flist: z.string(),
  uploader: z.string(),
  source: z.string(),
  storage: z.string(),
  checksum: z.string(),
});

/** The types catalog/listing.ts and catalog/history.ts answer are the schemas' (drift fails to compile). */
export type ListingMatchesSchema = Assert<Same<ListingEntry, z.infer<typeof listingEntrySchema>>>;
export type HistoryMatchesSchema = Assert<Same<History, z.infer<typeof historySchema>>>;

/** `GET /api/downloads/<repo>` (download-counts.ts): downloads per flist of the repository, those downloaded at all. */
export const repositoryDownloadsSchema = z.record(z.string(), z.number().int().min(0));

/** `GET /api/flist/<repo>/<name>/downloads`: the count of what the name resolves to (`flist`, its target for a link). */
export const flistDownloadsSchema = z.object({ name: z.string(), flist: z.string(), downloads: z.number().int().min(0) });
