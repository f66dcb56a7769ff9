/**
 * Chunks of homemade flists (docs/jobs-protocol.md `PUT /chunks/<32 hex>`): the Worker bounds
 * `PUT /api/chunks/<hash>` by this size (worker/src/jobs/config.ts, `HUB_CHUNK_MAX_BYTES`) and the converter
 * refuses larger bodies (converter/src/service/chunks.ts).
 */

/** Files are cut into pieces of this size before compression and encryption. */
export const CHUNK_SIZE = 512 * 1024;

/**
 * The largest stored value of one piece: an incompressible 512 KiB piece at snappy's worst case
 * (`32 + n + n/6`), then XXTEA's length word and padding to 4 bytes (`4 * (ceil(n/4) + 1)`): 611,708 bytes.
 * The converter's engine derives the same number (converter/src/chunks/transform.ts `MAX_STORED_SIZE`,
 * checked equal by converter/test/chunks-transform.test.ts).
 */
export const MAX_CHUNK_BYTES = 4 * (((32 + CHUNK_SIZE + Math.floor(CHUNK_SIZE / 6) + 3) >>> 2) + 1);
