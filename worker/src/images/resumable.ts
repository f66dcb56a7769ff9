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
 * which sends a converted image's large rootfs in parts when one request to the hub cannot carry it. The protocol
 * itself is resumable/routes.ts; this is its image mount (sessions in D1 `image_uploads`, deleted once completed or
 * aborted; nothing sweeps abandoned ones, R2 expires their parts).
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { multipart, partSizeSchema, type Session, type SessionStore } from "../resumable/protocol";
import { resumableRoutes } from "../resumable/routes";
import { FILE_TYPES, imageKey, isMeta, productKey, type ImageKey } from "./names";
import { metadataStates, prepareImageFile, recordImageFile } from "./ingest";
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
  partSize: partSizeSchema.optional(),
});

/** The API's create body: the upload plus the image it belongs to. */
export const apiCreateSchema = uploadSchema.extend({
  os: z.string(),
  release: z.string(),
  arch: z.string(),
  variant: z.string().default("default"),
  version: z.string(),
});

export interface ImageUploadOptions<Body extends z.infer<typeof uploadSchema>> {
  /** Where the routes live, e.g. `/api/images/uploads`. */
  base: string;
  /** Authenticates the caller and sets `c.var.actor`. */
  guard: MiddlewareHandler<AppEnv>;
  /** The create body (refused with 400 `malformed json request: …`). */
  schema: z.ZodType<Body>;
  /** The image a new upload is for, from the validated create body. */
  target(c: Context<AppEnv>, body: Body): ImageKey | Promise<ImageKey>;
}

function keyOf(row: UploadRow): ImageKey {
  const [os, release, arch, variant] = row.product.split(":");
  return imageKey({ os, release, arch, variant, version: row.version });
}

const partCount = (row: Pick<UploadRow, "size" | "part_size">) => Math.ceil(row.size / row.part_size);

/** `image_uploads`: a row is an open session (completing or aborting deletes it). */
const imageSessions: SessionStore<UploadRow> = {
  async get(db, id) {
    const row = await db.prepare("SELECT * FROM image_uploads WHERE id = ?").bind(id).first<UploadRow>();
    if (!row) return null;
    return { id: row.id, repository: row.repository, objectKey: row.object_key, uploadId: row.upload_id, partSize: row.part_size, status: "open", row };
  },
  async aborted(db, s) {
    await db.prepare("DELETE FROM image_uploads WHERE id = ?").bind(s.id).run();
  },
};

/** The running hashes a part continues: the file's own, and sha256(metadata ‖ root) per metadata file. */
function hashers(s: Session<UploadRow>) {
  const own = ResumableSha256.load(s.row.own_state);
  const states = JSON.parse(s.row.combined_states) as CombinedStates;
  const combined = Object.entries(states).map(([meta, state]) => [meta, ResumableSha256.load(state.now)] as const);
  return {
    own,
    states,
    combined,
    update(chunk: Uint8Array) {
      own.update(chunk);
      for (const [, h] of combined) h.update(chunk);
    },
  };
}

/** The image mount: parts strictly in order (each continues the hashes), completing records the image file. */
export function imageUploadRoutes<Body extends z.infer<typeof uploadSchema>>({ base, guard, schema, target }: ImageUploadOptions<Body>): Hono<AppEnv> {
  return resumableRoutes({
    path: base,
    guard,
    store: imageSessions,
    notFound: "no such upload",
    body: schema,
    invalidBody: (issue) => `malformed json request: ${issue?.message ?? ""}`,
    what: "file",
    async check(c, body) {
      const key = await target(c, body);
      if (!FILE_TYPES[body.file]) throw new HubError(400, "this file is not allowed");
      return { key, file: body.file, size: body.size, partSize: body.partSize };
    },
    async open(c, { id, checked: { key, file, size }, partSize }) {
      const now = Math.floor(Date.now() / 1000);
      await prepareImageFile(c.env, c.var.actor, key, file, now);
      const combined: CombinedStates = {};
      if (!isMeta(FILE_TYPES[file]!)) {
        for (const [meta, state] of await metadataStates(c.env, key)) combined[meta] = { base: state, now: state };
      }
      const objectKey = `images/objects/${crypto.randomUUID()}`;
      return {
        objectKey,
        async save(uploadId) {
          await c.env.DB.prepare(
            `INSERT INTO image_uploads (id, repository, product, version, file, object_key, upload_id, size, part_size,
               own_state, combined_states, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
            .bind(id, c.var.actor.repository, productKey(key), key.version, file, objectKey, uploadId, size, partSize,
              new ResumableSha256().save(), JSON.stringify(combined), now, now)
            .run();
          return { id, partSize, parts: partCount({ size, part_size: partSize }) };
        },
      };
    },
    // In order only: each part continues the hashes where the previous one left them.
    parts: {
      order: "sequential",
      count: (s) => partCount(s.row),
      next: (s) => s.row.next_part,
      remaining: (s) => s.row.size - s.row.received,
    },
    tap: hashers,
    async recordPart(c, { row }, { part, size: length, etag }, tap) {
      const { own, states, combined } = tap!;
      for (const [meta, h] of combined) states[meta]!.now = h.save();
      const parts = [...(JSON.parse(row.parts) as R2UploadedPart[]), { partNumber: part, etag }];
      const update = await c.env.DB.prepare(
        `UPDATE image_uploads SET next_part = ?2, received = ?3, own_state = ?4, combined_states = ?5, parts = ?6, updated = ?7
          WHERE id = ?1 AND next_part = ?8`,
      )
        .bind(row.id, part + 1, row.received + length, own.save(), JSON.stringify(states), JSON.stringify(parts),
          Math.floor(Date.now() / 1000), part)
        .run();
      if (update.meta.changes !== 1) throw new HubError(409, `part ${part} was sent twice at once`);
      return { part, received: row.received + length, size: row.size };
    },
    async complete(c, s) {
      const { row } = s;
      if (row.received !== row.size) throw new HubError(409, `incomplete: ${row.received} of ${row.size} bytes received`);
      const claimed = await c.env.DB.prepare("DELETE FROM image_uploads WHERE id = ? AND received = size").bind(row.id).run();
      if (claimed.meta.changes !== 1) throw new HubError(409, "already completed");
      await multipart(c.env, s).complete(JSON.parse(row.parts) as R2UploadedPart[]);
      const own = ResumableSha256.load(row.own_state);
      const states = JSON.parse(row.combined_states) as CombinedStates;
      const meta = isMeta(FILE_TYPES[row.file]!);
      const item = await recordImageFile(c.env, keyOf(row), row.file, {
        objectKey: row.object_key,
        sha256: own.digestHex(),
        size: row.size,
        hashState: meta ? own.save() : null,
        combined: new Map(Object.entries(states).map(([m, st]) => [m, { state: st.base, sha256: ResumableSha256.load(st.now).digestHex() }])),
      }, Math.floor(Date.now() / 1000));
      return ok(c, { product: item.product, version: item.version, name: item.name, ftype: item.ftype, sha256: item.sha256, size: item.size });
    },
    aborted: (s) => ({ id: s.id, aborted: true }),
  });
}

/** The API's resumable image uploads: the image is named in the create request. */
export const imageUploads = imageUploadRoutes({
  base: "/api/images/uploads",
  guard: requireActor(),
  schema: apiCreateSchema,
  target: (_c, body) => imageKey(body),
});
