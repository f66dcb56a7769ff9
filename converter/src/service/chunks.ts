/**
 * Chunk endpoints for homemade flists (what 0-hub-gw did over RESP; the Worker's `/api/chunks/*` routes call
 * these after authenticating the user): which chunks the store lacks, and storing one chunk. A chunk is accepted
 * only under its own key (`key == BLAKE2b-128(value)`), so nobody can plant a value under someone else's key.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { findMissing } from "../chunks/verify.ts";
import { MAX_STORED_SIZE, blake2b128, equalBytes, fromHex, hex } from "../chunks/transform.ts";
import type { ChunkStore } from "../store/index.ts";
import { HttpError, readBody, readJson, sendJson } from "./http.ts";

/** Hashes per `POST /chunks/missing` call: a 1 GiB flist has ~2,000 chunks; clients batch larger sets. */
export const MAX_HASHES_PER_CALL = 100_000;
/** A stored value of one 512 KiB piece is at most this long (incompressible piece, snappy worst case, XXTEA). */
export const MAX_CHUNK_BYTES = MAX_STORED_SIZE;

const HEX32 = /^[0-9a-f]{32}$/;

const missingRequest = z.object({
  hashes: z
    .array(z.string().transform((s) => s.toLowerCase()).refine((s) => HEX32.test(s), "every hash must be 32 hex characters"))
    .max(MAX_HASHES_PER_CALL, `at most ${MAX_HASHES_PER_CALL} hashes per call`),
});

export async function handleMissing(req: IncomingMessage, res: ServerResponse, store: () => Promise<ChunkStore>): Promise<void> {
  const parsed = missingRequest.safeParse(await readJson(req, MAX_HASHES_PER_CALL * 40 + 1024));
  if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]?.message ?? "invalid request");
  const missing = await findMissing(await store(), parsed.data.hashes.map(fromHex));
  sendJson(res, 200, { missing: missing.map(hex) });
}

export async function handlePut(req: IncomingMessage, res: ServerResponse, key: string, store: () => Promise<ChunkStore>): Promise<void> {
  const id = key.toLowerCase();
  if (!HEX32.test(id)) throw new HttpError(400, "chunk key must be 32 hex characters");
  const body = await readBody(req, MAX_CHUNK_BYTES);
  if (body.length === 0) throw new HttpError(400, "empty chunk");
  const expected = fromHex(id);
  if (!equalBytes(blake2b128(body), expected)) throw new HttpError(400, "chunk key is not the BLAKE2b-128 of the body");
  await (await store()).put(expected, body);
  sendJson(res, 200, { status: "success" });
}
