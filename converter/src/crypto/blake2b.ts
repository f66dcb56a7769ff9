/**
 * BLAKE2b with the digest lengths the flist format uses: 128 bits (chunk keys and hashes, directory keys)
 * and 64 bits (ACL keys). From `hash-wasm` (WebAssembly, >1 GiB/s here): BLAKE2b is 64-bit arithmetic, which
 * pure-JS implementations emulate with 32-bit halves at a twentieth of that speed, and hashing runs twice per
 * 512 KiB chunk on the ingestion hot path.
 *
 * hash-wasm instantiates its module asynchronously, once per thread (top-level await); hashing is synchronous
 * afterwards, and sharing one hasher is safe because each call runs init → update → digest without yielding.
 */
import { createBLAKE2b } from "hash-wasm";

const hasher128 = await createBLAKE2b(128);
const hasher64 = await createBLAKE2b(64);

export function blake2b128(data: Uint8Array): Uint8Array {
  hasher128.init();
  hasher128.update(data);
  return hasher128.digest("binary");
}

export function blake2b64(data: Uint8Array): Uint8Array {
  hasher64.init();
  hasher64.update(data);
  return hasher64.digest("binary");
}
