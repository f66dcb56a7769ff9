/**
 * Registry credentials of a docker job, never stored in clear: the request's credentials are sealed
 * with AES-256-GCM under a key derived by HKDF-SHA-256 from `INTERNAL_SECRET` (a Worker secret, never in D1),
 * with the job id as additional data (a ciphertext copied into another job's row does not open). Only the sealed
 * text goes into the job's `params`; it is opened when the job is dispatched, sent to the converter over the
 * internal channel (bearer-authenticated, like every converter call), and removed from the row when the job ends
 * (jobs/store.ts `markFailed`/`markSucceeded`). Nothing here logs, and no error message carries a value.
 */
import { credentialsSchema, type Credentials } from "../../../protocol/job-spec";

/** Basic credentials or a bearer token: the docker job spec's `credentials` (protocol/job-spec.ts). */
export { credentialsSchema, type Credentials };

const VERSION = "v1";
const SALT = new TextEncoder().encode("zos-hub docker job credentials");
const INFO = new TextEncoder().encode("aes-256-gcm v1");

async function keyOf(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: INFO },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

/** `v1.<iv b64>.<ciphertext+tag b64>`. */
export async function sealCredentials(secret: string, jobId: string, credentials: Credentials): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(credentials));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(jobId) },
    await keyOf(secret),
    plain,
  );
  return `${VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** Opens what `sealCredentials` made for this job; throws (without any value in the message) otherwise. */
export async function openCredentials(secret: string, jobId: string, sealed: string): Promise<Credentials> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) throw new Error("sealed credentials: unknown format");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(jobId) },
      await keyOf(secret),
      fromBase64(data),
    );
  } catch {
    // Wrong key (INTERNAL_SECRET rotated while the job was queued) or a tampered row.
    throw new Error("sealed credentials: cannot be opened with this hub's key");
  }
  const parsed = credentialsSchema.safeParse(JSON.parse(new TextDecoder().decode(plain)));
  if (!parsed.success) throw new Error("sealed credentials: not credentials");
  return parsed.data;
}
