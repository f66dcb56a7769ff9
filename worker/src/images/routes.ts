/**
 * The LXD/Incus image server (docs/images.md):
 * - public: `GET /streams/v1/index.json`, `GET /streams/v1/images.json` (from D1), the files at their item
 *   `path` `images/<os>/<release>/<arch>/<variant>/<version>/<file>` (Range/ETag/304/edge cache as flists),
 *   `GET /api/images` (the products as JSON);
 * - with a hub token (members of the owning repository): `POST /images/` (docker-simplestreams-server's curl
 *   form), `POST /api/images/versions`, `PUT /api/images/<os>/<release>/<arch>/<variant>/<version>/<file>`
 *   (streamed body), `DELETE /api/images/<os>/<release>/<arch>/<variant>[/<version>]`.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { CACHE_NAMED, serveFlist } from "../catalog/routes/serve-flist";
import type { BlobRow } from "../catalog/store/rows";
import { imagesConfig } from "./config";
import { storeImageFile, storeMetadataJson, type FileInput } from "./ingest";
import { bodyChunks } from "../http/big-reads";
import { readStreamedForm } from "./multipart";
import {
  imageKey,
  METADATA_JSON,
  metadataOverrideSchema,
  parseUploadPath,
  productKey,
  segmentSchema,
  uploadFile,
  archName,
  type ImageKey,
} from "./names";
import { deleteRows, ensureVersion, getItemByPath, getProduct, applyOverride, readCatalog } from "./store";
import { buildImages, buildIndex } from "./streams";
import { lxdJobs } from "./lxd-jobs";
import type { ImageItem } from "./responses";
import { imageUploads } from "./resumable";
import { checked } from "../http/validate";

export const images = new Hono<AppEnv>();


const INDEX_CACHE = "public, max-age=60";

// Flists converted to LXD images: the job route and the converter's internal routes (lxd-jobs.ts).
images.route("/", lxdJobs);
// Resumable uploads of large files (resumable.ts): before the `/api/images/<os>/…` patterns below.
images.route("/", imageUploads);

images.get("/streams/v1/images.json", async (c) => {
  const body = buildImages(await readCatalog(c.env.DB));
  return c.json(body, 200, { "Cache-Control": INDEX_CACHE });
});

images.get("/streams/v1/index.json", async (c) => {
  const body = buildIndex(buildImages(await readCatalog(c.env.DB)));
  return c.json(body, 200, { "Cache-Control": INDEX_CACHE });
});

function keyFrom(c: Context<AppEnv>): ImageKey {
  return imageKey({
    os: c.req.param("os"),
    release: c.req.param("release"),
    arch: c.req.param("arch"),
    variant: c.req.param("variant"),
    version: c.req.param("version"),
  });
}

const FILE_ROUTE = "/images/:os/:release/:arch/:variant/:version/:file";

images.on(["GET", "HEAD"], FILE_ROUTE, async (c) => {
  const key = keyFrom(c);
  const item = await getItemByPath(c.env.DB, productKey(key), key.version, c.req.param("file"));
  if (!item) throw new HubError(404, "image file not found");
  // serveFlist's Range/ETag/304/edge-cache logic, keyed by the file's sha256 (the ETag) and its R2 object.
  const blob = { sha256: item.sha256, md5: item.sha256, size: item.size, blob_key: item.object_key } as BlobRow;
  const open = async (range?: { offset: number; length: number }) =>
    (await c.env.FLISTS.get(item.object_key, range ? { range } : undefined))?.body ?? null;
  return serveFlist(c, blob, { lastModified: item.created, cacheControl: CACHE_NAMED, open });
});

/** docker-simplestreams-server's upload: `curl -H "Authorization: bearer $TOKEN" -F upload=@f;filename=<path> …/images/`. */
images.post("/images", requireActor(), async (c) => {
  const form = await readStreamedForm(c.req.raw, "upload");
  try {
    if (!form.file) throw new HubError(400, "no file found in field 'upload'");
    const { key, file } = parseUploadPath(form.file.filename);
    if (file === METADATA_JSON) {
      await storeMetadataJson(c.env, c.var.actor, key, form.file);
      return ok(c, { product: productKey(key), version: key.version, file });
    }
    const item = await storeImageFile(c.env, c.var.actor, key, file, form.file);
    return ok(c, describe(item));
  } catch (err) {
    await form.cancel();
    throw err;
  }
});

function describe(item: ImageItem): ImageItem {
  return { product: item.product, version: item.version, name: item.name, ftype: item.ftype, sha256: item.sha256, size: item.size };
}

images.get("/api/images", async (c) => {
  const repository = c.req.query("repository");
  if (repository !== undefined) checked(segmentSchema, repository, "repository");
  const catalog = await readCatalog(c.env.DB, repository);
  return ok(
    c,
    catalog.products.map((p) => ({
      product: p.product,
      repository: p.repository,
      os: p.os,
      release: p.release,
      release_title: p.release_title,
      arch: archName(p.arch) ?? p.arch,
      variant: p.variant,
      aliases: p.aliases.split(",").filter(Boolean),
      versions: catalog.versions
        .filter((v) => v.product === p.product)
        .map((v) => ({
          version: v.version,
          items: catalog.items.filter((i) => i.product === p.product && i.version === v.version).map(describe),
        })),
    })),
  );
});

export const createVersionSchema = z.object({
  os: z.string(),
  release: z.string(),
  arch: z.string(),
  variant: z.string().default("default"),
  version: z.string(),
  metadata: metadataOverrideSchema.optional(),
});

images.post("/api/images/versions", requireActor(), async (c) => {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (body === undefined) throw new HubError(400, "malformed json request");
  const request = checked(createVersionSchema, body, { what: "request", root: "body" });
  const key = imageKey(request);
  const product = productKey(key);
  const existing = await getProduct(c.env.DB, product);
  if (existing && existing.repository !== c.var.actor.repository) {
    throw new HubError(403, `image ${product} belongs to repository ${JSON.stringify(existing.repository)}`);
  }
  const now = Math.floor(Date.now() / 1000);
  await ensureVersion(c.env.DB, key, c.var.actor.repository, now);
  if (request.metadata) await applyOverride(c.env.DB, product, request.metadata, now);
  return ok(c, { product, version: key.version });
});

images.put(`/api${FILE_ROUTE}`, requireActor(), async (c) => {
  const key = keyFrom(c);
  const file = uploadFile(c.req.param("file"));
  const length = Number(c.req.header("Content-Length") ?? "NaN");
  if (!Number.isSafeInteger(length) || length < 0) throw new HubError(411, "Content-Length required");
  if (!c.req.raw.body) throw new HubError(400, "empty file");
  const input: FileInput = { length, chunks: bodyChunks(c.req.raw.body) };
  if (file === METADATA_JSON) {
    await storeMetadataJson(c.env, c.var.actor, key, input);
    return ok(c, { product: productKey(key), version: key.version, file });
  }
  return ok(c, describe(await storeImageFile(c.env, c.var.actor, key, file, input)));
});

async function deleteImage(c: Context<AppEnv>, key: Omit<ImageKey, "version">, version: string | null): Promise<Response> {
  if (!imagesConfig.allowDeletes(c.env)) throw new HubError(405, "Deletion not permitted");
  const product = productKey(key);
  const row = await getProduct(c.env.DB, product);
  if (!row) throw new HubError(404, "image not found");
  if (row.repository !== c.var.actor.repository) {
    throw new HubError(403, `image ${product} belongs to repository ${JSON.stringify(row.repository)}`);
  }
  const keys = await deleteRows(c.env.DB, product, version);
  if (keys === null) throw new HubError(404, "image version not found");
  if (keys.length > 0) await c.env.FLISTS.delete(keys);
  return ok(c, { product, version, deleted: keys.length });
}

images.delete("/api/images/:os/:release/:arch/:variant/:version", requireActor(), async (c) => {
  const key = keyFrom(c);
  return deleteImage(c, key, key.version);
});

images.delete("/api/images/:os/:release/:arch/:variant", requireActor(), async (c) => {
  const { os, release, arch, variant } = imageKey({ ...c.req.param(), version: "20000101_00:00" });
  return deleteImage(c, { os, release, arch, variant }, null);
});
