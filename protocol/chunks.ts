/**
 * Chunks of homemade flists (docs/jobs-protocol.md `PUT /chunks/<32 hex>`): the Worker bounds
 * `PUT /api/chunks/<hash>` by this size (worker/src/jobs/config.ts, `HUB_CHUNK_MAX_BYTES`) and the converter
 * refuses larger bodies (converter/src/service/chunks.ts). The Worker relays `POST /api/chunks/missing` as
 * `POST /chunks/missing` (worker/src/chunks/routes.ts).
 */
import { z } from "zod";

/** Files are cut into pieces of this size before compression and encryption. */
export const CHUNK_SIZE = 512 * 1024;

/**
 * The largest stored value of one piece: an incompressible 512 KiB piece at snappy's worst case
 * (`32 + n + n/6`), then XXTEA's length word and padding to 4 bytes (`4 * (ceil(n/4) + 1)`): 611,708 bytes.
 * The converter's engine derives the same number (converter/src/chunks/transform.ts `MAX_STORED_SIZE`,
 * checked equal by converter/test/chunks-transform.test.ts).
 */
export const MAX_CHUNK_BYTES = 4 * (((32 + CHUNK_SIZE + Math.floor(CHUNK_SIZE / 6) + 3) >>> 2) + 1);

/** Hashes per `POST /chunks/missing` call: a 1 GiB flist has ~2,000 chunks; clients batch larger sets. */
export const MAX_HASHES_PER_CALL = 100_000;

const HEX32 = /^[0-9a-f]{32}$/;

/** `POST /chunks/missing` body: the chunk keys (BLAKE2b-128, hex) whose presence in the store is asked. */
export const missingRequestSchema = z.object({
  hashes: z
    .array(z.string().transform((s) => s.toLowerCase()).refine((s) => HEX32.test(s), "every hash must be 32 hex characters"))
    .max(MAX_HASHES_PER_CALL, `at most ${MAX_HASHES_PER_CALL} hashes per call`),
});
export type MissingRequest = z.input<typeof missingRequestSchema>;

/** Its answer: the keys the store lacks. */
export const missingAnswerSchema = z.object({ missing: z.array(z.string()) });
export type MissingAnswer = z.infer<typeof missingAnswerSchema>;
