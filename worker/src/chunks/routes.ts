/**
 * Chunk upload for homemade flists (what 0-hub-gw did over RESP, now over HTTPS with hub tokens). The Worker
 * authenticates and bounds the request, then forwards it to the converter, which owns the chunk store
 * (docs/jobs-protocol.md): `POST /chunks/missing` (batched EXISTS) and `PUT /chunks/<hash>` (stored only when
 * `hash == BLAKE2b-128(body)`). The chunk body is forwarded as a stream, never buffered here.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { missingAnswerSchema, type MissingRequest } from "../../../protocol/chunks";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { fail, ok } from "../http/respond";
import { uploadConfig } from "../jobs/config";
import { converterError, converterFetch } from "../jobs/converter";
import { checked } from "../http/validate";

export const chunkRoutes = new Hono<AppEnv>();

/** Hashes per `missing` request: one batched EXISTS on the store, bounded. */
export const MAX_MISSING_HASHES = 10_000;
const HASH = /^[0-9a-f]{32}$/;

export const hashesSchema = z
  .union([z.array(z.string()), z.object({ hashes: z.array(z.string()) }).transform((o) => o.hashes)])
  .pipe(
    z
      .array(z.string().transform((h) => h.toLowerCase()).pipe(z.string().regex(HASH, "expected 32 hex characters")))
      .max(MAX_MISSING_HASHES, `at most ${MAX_MISSING_HASHES} hashes per request`),
  );

/** Relays the converter's failure as the JSON envelope (its status when 4xx, else 502). */
async function relayFailure(c: Context<AppEnv>, res: Response): Promise<Response> {
  const message = await converterError(res);
  const status = res.status >= 400 && res.status < 500 ? res.status : 502;
  return fail(c, status as 400, status === 502 ? `chunk store unavailable: ${message}` : message);
}

/** `key` spreads the calls over the container instances (production binding); any instance can serve them. */
async function callConverter(c: Context<AppEnv>, path: string, init: RequestInit, key?: string): Promise<Response> {
  try {
    return await converterFetch(c.env, path, init, key);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new HubError(502, `chunk store unavailable: converter unreachable (${cause})`);
  }
}

chunkRoutes.post("/api/chunks/missing", requireActor(), async (c) => {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HubError(400, "malformed json request");
  }
  const hashes = [...new Set(checked(hashesSchema, raw, { what: "hashes", root: "(root)" }))];
  if (hashes.length === 0) return ok(c, { missing: [] });
  const res = await callConverter(
    c,
    "/chunks/missing",
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ hashes } satisfies MissingRequest) },
    hashes[0],
  );
  if (!res.ok) return relayFailure(c, res);
  const missing = missingAnswerSchema.shape.missing.safeParse(((await res.json()) as { missing?: unknown }).missing);
  if (!missing.success) throw new HubError(502, "chunk store answered an invalid list");
  return ok(c, { missing: missing.data });
});

chunkRoutes.put("/api/chunks/:hash", requireActor(), async (c) => {
  const hash = c.req.param("hash").toLowerCase();
  if (!HASH.test(hash)) throw new HubError(400, "invalid hash: expected 32 hex characters (BLAKE2b-128)");
  const raw = c.req.header("Content-Length");
  if (raw === undefined || !/^\d{1,12}$/.test(raw.trim())) throw new HubError(411, "Content-Length required");
  const size = Number(raw.trim());
  const cap = uploadConfig.chunkMaxBytes(c.env);
  if (size > cap) throw new HubError(413, `chunk larger than ${cap} bytes`);
  if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty chunk");
  const res = await callConverter(
    c,
    `/chunks/${hash}`,
    {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      body: c.req.raw.body,
    },
    hash,
  );
  if (!res.ok) return relayFailure(c, res);
  await res.body?.cancel();
  return ok(c, { hash, size });
});
