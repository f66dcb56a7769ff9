/**
 * Resumable uploads of large image files (R2 multipart; beyond the 5 GiB of a single put, or over unreliable
 * links), with the checksums still computed while streaming: parts must arrive in order, and each continues the
 * SHA-256 states saved in D1 after the previous one (`image_uploads`), so completing reads nothing back.
 *
 *   POST   /api/images/uploads {os, release, arch, variant?, version, file, size, partSize?} → 201 {id, partSize, parts}
 *   PUT    /api/images/uploads/<id>/<n>   part n (1-based, in order; a failed part is sent again)
 *   POST   /api/images/uploads/<id>/complete → the item, as the streamed PUT answers
 *   DELETE /api/images/uploads/<id>       abort
 *
 * `imageUploadRoutes` makes these routes for any mount: the API's above (token; the image named in the request),
 * and the converter's `/internal/images/jobs/<job>/uploads` (lxd-jobs.ts: internal secret; the image is the job's),
 * which sends a converted image's large rootfs in parts when one request to the hub cannot carry it.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, uploadConfig } from "../jobs/config";
import { FILE_TYPES, imageKey, isMeta, productKey, type ImageKey } from "./names";
import { metadataStates, prepareImageFile, recordImageFile } from "./ingest";
import { bodyChunks } from "./multipart";
import { ResumableSha256 } from "./sha256";


interface UploadRow {
  id: string;
  repository: string;
  product: string;
  version: string;
  file: string;
  object_key: string;
  upload_id: string;
  size: number;
  part_size: number;
  next_part: number;
  received: number;
  own_state: string;
  combined_states: string;
  parts: string;
}

type CombinedStates = Record<string, { base: string; now: string }>;

/** What a new upload is: the file, its size, and optionally its part size (the image comes from `target`). */
export const uploadSchema = z.object({
  file: z.string(),
  size: z.number().int().positive(),
  partSize: z.number().int().min(MIN_PART_SIZE).max(MAX_PART_SIZE).optional(),
});

/** The API's create body: the upload plus the image it belongs to. */
const apiCreateSchema = uploadSchema.extend({
  os: z.string(),
  release: z.string(),
  arch: z.string(),
  variant: z.string().default("default"),
  version: z.string(),
});

export interface ImageUploadOptions {
  /** Where the routes live, e.g. `/api/images/uploads`. */
  base: string;
  /** Authenticates the caller and sets `c.var.actor`. */
  guard: MiddlewareHandler<AppEnv>;
  /** The image a new upload is for, and the upload itself, from the create request (400 on a bad body). */
  target(c: Context<AppEnv>, body: unknown): Promise<{ key: ImageKey; upload: z.infer<typeof uploadSchema> }>;
}

/** The API's image: named in the create request. */
export async function apiTarget(_c: Context<AppEnv>, body: unknown): Promise<{ key: ImageKey; upload: z.infer<typeof uploadSchema> }> {
  const parsed = apiCreateSchema.safeParse(body);
  if (!parsed.success) throw new HubError(400, `malformed json request: ${parsed.error.issues[0]?.message ?? ""}`);
  return { key: imageKey(parsed.data), upload: parsed.data };
}

function keyOf(row: UploadRow): ImageKey {
  const [os, release, arch, variant] = row.product.split(":");
  return imageKey({ os, release, arch, variant, version: row.version });
}

async function session(c: Context<AppEnv>): Promise<UploadRow> {
  const row = await c.env.DB.prepare("SELECT * FROM image_uploads WHERE id = ?").bind(c.req.param("id") ?? "").first<UploadRow>();
  // Another repository's session is answered like a missing one.
  if (!row || row.repository !== c.var.actor.repository) throw new HubError(404, "no such upload");
  return row;
}

const partCount = (row: Pick<UploadRow, "size" | "part_size">) => Math.ceil(row.size / row.part_size);

export function imageUploadRoutes({ base, guard, target }: ImageUploadOptions): Hono<AppEnv> {
  const imageUploads = new Hono<AppEnv>();

  imageUploads.post(base, guard, async (c) => {
    const { key, upload: wanted } = await target(c, await c.req.json().catch(() => null));
    const { file, size } = wanted;
    if (!FILE_TYPES[file]) throw new HubError(400, "this file is not allowed");
    // A part is one request body: within this hub's request limit (HUB_REQUEST_MAX_BYTES), as for archives.
    const partMax = uploadConfig.partMaxBytes(c.env);
    if (wanted.partSize !== undefined && wanted.partSize > partMax) {
      throw new HubError(400, `partSize larger than ${partMax} bytes, the largest one request to this hub may carry`);
    }
    const partSize = wanted.partSize ?? Math.min(DEFAULT_PART_SIZE, partMax);
    const max = uploadConfig.maxBytes(c.env);
    if (size > max) throw new HubError(413, `file larger than ${max} bytes`);
    const now = Math.floor(Date.now() / 1000);
    await prepareImageFile(c.env, c.var.actor, key, file, now);
    const combined: CombinedStates = {};
    if (!isMeta(FILE_TYPES[file]!)) {
      for (const [meta, state] of await metadataStates(c.env, key)) combined[meta] = { base: state, now: state };
    }
    const id = crypto.randomUUID();
    const objectKey = `images/objects/${crypto.randomUUID()}`;
    const upload = await c.env.FLISTS.createMultipartUpload(objectKey);
    await c.env.DB.prepare(
      `INSERT INTO image_uploads (id, repository, product, version, file, object_key, upload_id, size, part_size,
         own_state, combined_states, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
      .bind(id, c.var.actor.repository, productKey(key), key.version, file, objectKey, upload.uploadId, size, partSize,
        new ResumableSha256().save(), JSON.stringify(combined), now, now)
      .run();
    return ok(c, { id, partSize, parts: partCount({ size, part_size: partSize }) }, 201);
  });

  imageUploads.put(`${base}/:id/:part`, guard, async (c) => {
    const row = await session(c);
    const part = Number(c.req.param("part"));
    if (!Number.isInteger(part) || part < 1 || part > partCount(row)) throw new HubError(400, "invalid part number");
    // In order only: each part continues the hashes where the previous one left them.
    if (part !== row.next_part) throw new HubError(409, `parts are uploaded in order: the next one is ${row.next_part}`);
    const expected = Math.min(row.part_size, row.size - row.received);
    const length = Number(c.req.header("Content-Length") ?? "NaN");
    if (length !== expected || !c.req.raw.body) throw new HubError(400, `part ${part} must be ${expected} bytes (Content-Length)`);

    const own = ResumableSha256.load(row.own_state);
    const states = JSON.parse(row.combined_states) as CombinedStates;
    const hashers = Object.entries(states).map(([meta, s]) => [meta, ResumableSha256.load(s.now)] as const);
    const fixed = new FixedLengthStream(length);
    const upload = c.env.FLISTS.resumeMultipartUpload(row.object_key, row.upload_id);
    const sent = upload.uploadPart(part, fixed.readable);
    const writer = fixed.writable.getWriter();
    try {
      for await (const chunk of bodyChunks(c.req.raw.body)) {
        own.update(chunk);
        for (const [, h] of hashers) h.update(chunk);
        await writer.write(chunk);
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => undefined);
      await sent.catch(() => undefined);
      throw err;
    }
    const uploaded = await sent;
    for (const [meta, h] of hashers) states[meta]!.now = h.save();
    const parts = [...(JSON.parse(row.parts) as R2UploadedPart[]), { partNumber: uploaded.partNumber, etag: uploaded.etag }];
    const update = await c.env.DB.prepare(
      `UPDATE image_uploads SET next_part = ?2, received = ?3, own_state = ?4, combined_states = ?5, parts = ?6, updated = ?7
        WHERE id = ?1 AND next_part = ?8`,
    )
      .bind(row.id, part + 1, row.received + length, own.save(), JSON.stringify(states), JSON.stringify(parts),
        Math.floor(Date.now() / 1000), part)
      .run();
    if (update.meta.changes !== 1) throw new HubError(409, `part ${part} was sent twice at once`);
    return ok(c, { part, received: row.received + length, size: row.size });
  });

  imageUploads.post(`${base}/:id/complete`, guard, async (c) => {
    const row = await session(c);
    if (row.received !== row.size) throw new HubError(409, `incomplete: ${row.received} of ${row.size} bytes received`);
    const claimed = await c.env.DB.prepare("DELETE FROM image_uploads WHERE id = ? AND received = size").bind(row.id).run();
    if (claimed.meta.changes !== 1) throw new HubError(409, "already completed");
    await c.env.FLISTS.resumeMultipartUpload(row.object_key, row.upload_id).complete(JSON.parse(row.parts) as R2UploadedPart[]);
    const own = ResumableSha256.load(row.own_state);
    const states = JSON.parse(row.combined_states) as CombinedStates;
    const meta = isMeta(FILE_TYPES[row.file]!);
    const item = await recordImageFile(c.env, keyOf(row), row.file, {
      objectKey: row.object_key,
      sha256: own.digestHex(),
      size: row.size,
      hashState: meta ? own.save() : null,
      combined: new Map(Object.entries(states).map(([m, s]) => [m, { state: s.base, sha256: ResumableSha256.load(s.now).digestHex() }])),
    }, Math.floor(Date.now() / 1000));
    return ok(c, { product: item.product, version: item.version, name: item.name, ftype: item.ftype, sha256: item.sha256, size: item.size });
  });

  imageUploads.delete(`${base}/:id`, guard, async (c) => {
    const row = await session(c);
    await c.env.FLISTS.resumeMultipartUpload(row.object_key, row.upload_id).abort().catch(() => undefined);
    await c.env.DB.prepare("DELETE FROM image_uploads WHERE id = ?").bind(row.id).run();
    return ok(c, { id: row.id, aborted: true });
  });

  return imageUploads;
}

/** The API's resumable image uploads. */
export const imageUploads = imageUploadRoutes({ base: "/api/images/uploads", guard: requireActor(), target: apiTarget });
