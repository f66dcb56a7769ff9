/**
 * Keys of the website's signed cookies, derived from the existing `HUB_SIGNING_SEED` secret with HKDF-SHA256
 * (WebCrypto), one key per purpose (`info`), so no new secret has to be configured and a session key can never
 * verify a state cookie (or the other way round). Rotating the seed signs everyone out, as it revokes tokens.
 */
import { isValidSeedHex } from "./tokens";

export type CookiePurpose = "web-session-v1" | "tfconnect-state-v1";

const SALT = new TextEncoder().encode("zos-hub website cookies");
const cache = new Map<string, Promise<Uint8Array>>();

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function derive(seedHex: string, purpose: CookiePurpose): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey("raw", hexToBytes(seedHex), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: new TextEncoder().encode(purpose) },
    ikm,
    256,
  );
  return new Uint8Array(bits);
}

/** The HS256 key for `purpose`; throws when the seed is missing or malformed (a server misconfiguration). */
export function cookieKey(seedHex: string | undefined, purpose: CookiePurpose): Promise<Uint8Array> {
  if (!isValidSeedHex(seedHex)) return Promise.reject(new Error("HUB_SIGNING_SEED is not configured"));
  const cacheKey = `${purpose}:${seedHex.toLowerCase()}`;
  let key = cache.get(cacheKey);
  if (!key) {
    key = derive(seedHex.toLowerCase(), purpose);
    cache.set(cacheKey, key);
    key.catch(() => cache.delete(cacheKey));
  }
  return key;
}

/** Constant-time string equality through the platform (workerd's `crypto.subtle.timingSafeEqual`). */
// workerd extension, missing from the WebWorker lib types.
const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean };

export function safeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  // Lengths are not secret here (fixed-size random tokens); timingSafeEqual throws on different lengths.
  if (x.byteLength !== y.byteLength) return false;
  return subtle.timingSafeEqual(x, y);
}

/** `bytes` random bytes as base64url without padding (CSRF tokens, state values). */
export function randomToken(bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  let bin = "";
  for (const b of raw) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
