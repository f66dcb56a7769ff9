/**
 * Chunk endpoints for homemade flists (what 0-hub-gw did over RESP; the Worker's `/api/chunks/*` routes call
 * these after authenticating the user): which chunks the store lacks, and storing one chunk. A chunk is accepted
 * only under its own key (`key == BLAKE2b-128(value)`), so nobody can plant a value under someone else's key.
 */
import { Hono } from "hono";
import { MAX_CHUNK_BYTES, MAX_HASHES_PER_CALL, type MissingAnswer, missingRequestSchema } from "../../../protocol/chunks.ts";
import { findMissing } from "../chunks/verify.ts";
import { blake2b128, equalBytes, fromHex, hex } from "../chunks/transform.ts";
import type { ChunkStore } from "../store/index.ts";
import { HttpError, type ServiceEnv, json, readBody } from "./http.ts";
import { jsonBody } from "./validate.ts";

/** A stored value of one 512 KiB piece is at most this long; hashes per `POST /chunks/missing` (protocol/chunks.ts). */
export { MAX_CHUNK_BYTES, MAX_HASHES_PER_CALL };

const HEX32 = /^[0-9a-f]{32}$/;

const methodNotAllowed = (): never => {
  throw new HttpError(405, "method not allowed");
};

/** `POST /chunks/missing` and `PUT /chunks/<hex>`, behind the internal secret (app.ts). */
export function chunkRoutes(store: () => Promise<ChunkStore>): Hono<ServiceEnv> {
  const app = new Hono<ServiceEnv>();
  app.post(
    "/chunks/missing",
    jsonBody(missingRequestSchema, MAX_HASHES_PER_CALL * 40 + 1024, (issue) => issue?.message ?? "invalid request"),
    async (c) => {
      const missing = await findMissing(await store(), c.req.valid("json").hashes.map(fromHex));
      const answer: MissingAnswer = { missing: missing.map(hex) };
      return json(c, 200, answer);
    },
  );
  app.all("/chunks/missing", methodNotAllowed);
  app.put("/chunks/:key", async (c) => {
    // The key as sent: Hono's path and params are percent-decoded.
    const id = new URL(c.req.url).pathname.slice("/chunks/".length).toLowerCase();
    if (!HEX32.test(id)) throw new HttpError(400, "chunk key must be 32 hex characters");
    const body = await readBody(c, MAX_CHUNK_BYTES);
    if (body.length === 0) throw new HttpError(400, "empty chunk");
    const expected = fromHex(id);
    if (!equalBytes(blake2b128(body), expected)) throw new HttpError(400, "chunk key is not the BLAKE2b-128 of the body");
    await (await store()).put(expected, body);
    return json(c, 200, { status: "success" });
  });
  app.all("/chunks/:key", methodNotAllowed);
  return app;
}
