/**
 * Hub API tokens, byte-compatible with the original hub (docs/compatibility.md §4.1):
 *
 *   token = base64url-with-padding( ed25519_signature(64 bytes) ‖ payload )
 *   payload = Python `json.dumps([user, int(time.time())])`, e.g. `["alice.3bot", 1679215770]`
 *
 * signed with the hub's 32-byte Ed25519 seed (PyNaCl `SigningKey(seed).sign(payload, URLSafeBase64Encoder)`).
 * Existing tokens, `zflist hub` and 0-hub-gw therefore keep working unchanged.
 *
 * Only WebCrypto is used so that the same module runs in workerd and in Node 20 (`scripts/token.ts`).
 */

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it (RFC 8410). */
const PKCS8_ED25519_PREFIX = "302e020100300506032b657004220420";
const SIGNATURE_BYTES = 64;

export interface VerifiedToken {
  /** The token subject (`payload[0]`). */
  user: string;
  /** Unix seconds at which the token was minted (`payload[1]`). */
  issuedAt: number;
  /** The decoded token bytes (signature ‖ payload); revocation hashes these, see `tokenDigest`. */
  bytes: Uint8Array;
}

interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

// Importing keys costs a little on every call; the seed never changes during an isolate's life.
const keyCache = new Map<string, Promise<KeyPair>>();

export function isValidSeedHex(seedHex: string | undefined): seedHex is string {
  return typeof seedHex === "string" && /^[0-9a-fA-F]{64}$/.test(seedHex);
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function keysFor(seedHex: string): Promise<KeyPair> {
  if (!isValidSeedHex(seedHex)) throw new Error("the signing seed must be 64 hexadecimal characters");
  const cacheKey = seedHex.toLowerCase();
  let keys = keyCache.get(cacheKey);
  if (!keys) {
    keys = importKeys(cacheKey);
    keyCache.set(cacheKey, keys);
    // A failed import must not stay cached forever.
    keys.catch(() => keyCache.delete(cacheKey));
  }
  return keys;
}

async function importKeys(seedHex: string): Promise<KeyPair> {
  const der = hexToBytes(PKCS8_ED25519_PREFIX + seedHex);
  // Extractable only long enough to derive the public key (JWK `x`); the cached private key is not exported anywhere.
  const extractable = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "Ed25519", x: jwk.x },
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  return { privateKey, publicKey };
}

/** Raw Ed25519 signature of `message` with the 32-byte seed (exported for the RFC 8032 vector test). */
export async function ed25519Sign(seedHex: string, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const { privateKey } = await keysFor(seedHex);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
}

/**
 * Python's `json.dumps(str)` with its default `ensure_ascii=True`: like JSON.stringify, but every character
 * outside printable ASCII is written `\uXXXX` (lower-case hex, surrogates separately), so the signed bytes match.
 */
function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** The exact payload bytes the original hub signs: `json.dumps([user, ts])`. */
export function tokenPayload(user: string, issuedAt: number): string {
  return `[${pythonJsonString(user)}, ${issuedAt}]`;
}

function bytesToBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  // Python's urlsafe_b64encode keeps the `=` padding; so do we.
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_");
}

function base64UrlToBytes(s: string): Uint8Array | null {
  // Strict like binascii: URL-safe alphabet, padding required (the original answers "invalid signature" on bad padding).
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9_-]+={0,2}$/.test(s)) return null;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Mints a token for `user`, issued at `issuedAt` (unix seconds, default now). */
export async function signToken(seedHex: string, user: string, issuedAt?: number): Promise<string> {
  if (user.length === 0) throw new Error("a token needs a user name");
  const ts = issuedAt ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(ts) || ts < 0) throw new Error("issuedAt must be a non-negative integer of seconds");
  const payload = new TextEncoder().encode(tokenPayload(user, ts));
  const signature = await ed25519Sign(seedHex, payload);
  const token = new Uint8Array(SIGNATURE_BYTES + payload.length);
  token.set(signature, 0);
  token.set(payload, SIGNATURE_BYTES);
  return bytesToBase64Url(token);
}

/**
 * Checks a token's signature against the hub's seed and decodes its payload. Returns null for anything that is
 * not a token signed by this seed (undecodable, too short, bad signature, payload not `[user, ts]`).
 * Expiry and revocation are policy and live in the middleware.
 */
export async function verifyToken(seedHex: string, token: string): Promise<VerifiedToken | null> {
  const bytes = base64UrlToBytes(token);
  if (!bytes || bytes.length <= SIGNATURE_BYTES) return null;
  const { publicKey } = await keysFor(seedHex);
  const signature = bytes.slice(0, SIGNATURE_BYTES);
  const payload = bytes.slice(SIGNATURE_BYTES);
  const valid = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, payload);
  if (!valid) return null;
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return null;
  }
  // The original only reads payload[0]; the timestamp is needed here for expiry and "not before".
  if (!Array.isArray(data) || data.length < 2) return null;
  const [user, issuedAt] = data as unknown[];
  if (typeof user !== "string" || user.length === 0) return null;
  if (typeof issuedAt !== "number" || !Number.isSafeInteger(issuedAt) || issuedAt < 0) return null;
  return { user, issuedAt, bytes };
}

/**
 * Identifier of a token for the revocation list: hex SHA-256 of its decoded bytes. The token itself is never
 * stored, and hashing the bytes (not the text) makes every spelling of the same token collide.
 */
export async function tokenDigest(bytes: Uint8Array<ArrayBuffer> | Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
