/**
 * Response schemas of the image server (images/routes.ts, resumable.ts, lxd-jobs.ts): what the OpenAPI document
 * publishes for them (docs/openapi.md). simplestreams documents are described loosely: their shape is LXD's.
 */
import { z } from "zod";
import { okSchema } from "../http/envelope";
import { lxdResultSchema } from "../jobs/responses";

export const imageItemSchema = z
  .object({
    product: z.string(),
    version: z.string(),
    name: z.string(),
    ftype: z.string(),
    sha256: z.string(),
    size: z.number().int(),
  })
  ;
export type ImageItem = z.infer<typeof imageItemSchema>;

export const imageFileAnswerSchema = okSchema(
  z.union([imageItemSchema, z.object({ product: z.string(), version: z.string(), file: z.literal("metadata.json") })]),
);

export const imageProductsSchema = okSchema(
  z.array(
    z.object({
      product: z.string(),
      repository: z.string(),
      os: z.string(),
      release: z.string(),
      release_title: z.string(),
      arch: z.string(),
      variant: z.string(),
      aliases: z.array(z.string()),
      versions: z.array(z.object({ version: z.string(), items: z.array(imageItemSchema) })),
    }),
  ),
);

export const imageVersionSchema = okSchema(z.object({ product: z.string(), version: z.string() }));

export const imageDeletedSchema = okSchema(
  z.object({ product: z.string(), version: z.string().nullable(), deleted: z.number().int() }),
);

export const simplestreamsImagesSchema = z.object({
  content_id: z.literal("images"),
  datatype: z.literal("image-downloads"),
  format: z.literal("products:1.0"),
  license: z.string(),
  products: z.record(z.string(), z.record(z.string(), z.unknown())),
  updated: z.string(),
});

export const simplestreamsIndexSchema = z.object({
  format: z.literal("index:1.0"),
  index: z.object({
    images: z.object({
      datatype: z.literal("image-downloads"),
      path: z.string(),
      format: z.literal("products:1.0"),
      products: z.array(z.string()),
      updated: z.string(),
    }),
  }),
  updated: z.string(),
});

export const imageUploadCreatedSchema = okSchema(
  z.object({ id: z.string(), partSize: z.number().int(), parts: z.number().int() }),
);
export const imageUploadPartSchema = okSchema(
  z.object({ part: z.number().int(), received: z.number().int(), size: z.number().int() }),
);
export const imageUploadAbortedSchema = okSchema(z.object({ id: z.string(), aborted: z.literal(true) }));

/** A finished lxd job: the image product it wrote, as its job's result. */
export const lxdAnswerSchema = okSchema(lxdResultSchema);
