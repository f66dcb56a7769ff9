/**
 * A ThreeFold Connect peer with real keys, portable (WebCrypto-free: @noble/curves + tweetnacl), used by the
 * workerd tests and by the browser tests' stand-in server (e2e/support/tfconnect.ts). It builds the
 * `signedAttempt` exactly as login.threefold.me does for the hub (docs/compatibility.md §4.4):
 *
 *   ?signedAttempt = JSON {"doubleName", "signedAttempt": base64(ed25519_sign(user key, JSON {
 *       "doubleName", "signedState", "appId", "randomRoom", "selectedImageId",
 *       "data": {"nonce": b64, "ciphertext": b64(nacl.box(JSON {"email": {...}}, nonce, hub X25519 pk,
 *                                                   user's key as Curve25519))}}))}
 *
 * with switches for what the hub must refuse. Not a test file itself.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import nacl from "tweetnacl";

export interface PeerUser {
  doubleName: string;
  /** 32-byte Ed25519 seed (the app's key). */
  seed: Uint8Array;
  /** Published at /api/users/<doubleName>. */
  publicKey: Uint8Array;
  email: string;
}

export type Fault =
  /** Signed with a key other than the published one. */
  | "bad-signature"
  /** `email.verified` is null (the original's only check). */
  | "unverified-email"
  /** `signedState` is not the state the hub sent. */
  | "tampered-state"
  /** Box sealed for another hub key. */
  | "wrong-hub-key"
  /** Signed payload names another user than the outer `doubleName`. */
  | "other-user";

export interface AttemptOptions {
  state: string;
  appId: string;
  /** The hub's X25519 public key, base64, as the hub sent it (`publickey`). */
  hubPublicKey: string;
  fault?: Fault;
}

export function b64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function unb64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function makeUser(doubleName: string, email = `${doubleName.split(".")[0]}@example.org`): PeerUser {
  const seed = random(32);
  return { doubleName, seed, publicKey: ed25519.getPublicKey(seed), email };
}

/** The `/api/users/<doubleName>` answer of the login service. */
export function userRecord(user: PeerUser): { doubleName: string; publicKey: string } {
  return { doubleName: user.doubleName, publicKey: b64(user.publicKey) };
}

/** A hub key pair as `HUB_TFCONNECT_PRIVATE_KEY` holds it (base64 of the 32-byte X25519 secret). */
export function makeHubKey(): { privateKey: string; publicKey: string } {
  const kp = nacl.box.keyPair.fromSecretKey(random(32));
  return { privateKey: b64(kp.secretKey), publicKey: b64(kp.publicKey) };
}

/** The `signedAttempt` query parameter the login service appends to the hub's callback. */
export function signedAttempt(user: PeerUser, opts: AttemptOptions): string {
  const fault = opts.fault;
  const payload = {
    email: { email: user.email, verified: fault === "unverified-email" ? null : true },
  };
  const hubKey = fault === "wrong-hub-key" ? nacl.box.keyPair().publicKey : unb64(opts.hubPublicKey);
  const nonce = random(nacl.box.nonceLength);
  const ciphertext = nacl.box(
    new TextEncoder().encode(JSON.stringify(payload)),
    nonce,
    hubKey,
    ed25519.utils.toMontgomerySecret(user.seed),
  );
  const signedData = {
    doubleName: fault === "other-user" ? `not-${user.doubleName}` : user.doubleName,
    signedState: fault === "tampered-state" ? `${opts.state}x` : opts.state,
    appId: opts.appId,
    randomRoom: b64(random(12)),
    selectedImageId: 1,
    data: { nonce: b64(nonce), ciphertext: b64(ciphertext) },
  };
  const message = new TextEncoder().encode(JSON.stringify(signedData));
  const signingSeed = fault === "bad-signature" ? random(32) : user.seed;
  const signature = ed25519.sign(message, signingSeed);
  const combined = new Uint8Array(signature.length + message.length);
  combined.set(signature, 0);
  combined.set(message, signature.length);
  return JSON.stringify({ signedAttempt: b64(combined), doubleName: user.doubleName });
}
