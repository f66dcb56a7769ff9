/**
 * ThreeFold Connect ("3bot login", docs/compatibility.md §4.4), done right:
 *
 *   1. /login redirects to `<login service>/?appid&publickey&state&redirecturl&scope` (the original's shape), the
 *      `state` also kept in a short-lived signed cookie bound to this browser (state.ts);
 *   2. the login service sends the browser back to `redirecturl?signedAttempt=<json>`, where
 *      `{"doubleName", "signedAttempt": base64(ed25519 signature ‖ json)}`; the signed json holds `doubleName`,
 *      `signedState` (our state), `appId` and `data: {nonce, ciphertext}` (a NaCl box from the user to the hub);
 *   3. the user's Ed25519 key comes from `<login service>/api/users/<doubleName>` (`publicKey`, base64); the
 *      signature is checked with WebCrypto, the state compared in constant time with the browser's, the box
 *      opened with the hub's X25519 key and the user's key converted to Curve25519 (@noble/curves);
 *   4. the decrypted json must carry a verified email (`email.verified`), which the original only half checked.
 *
 * Every refusal is a SigninError with a status and a message a person can read; no key or payload is logged.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import nacl from "tweetnacl";
import { z } from "zod";
import { safeEqual } from "../../auth/cookie-keys";
import { refusal, repositoryProblem } from "../../names";

export class SigninError extends Error {
  constructor(
    readonly status: 400 | 403 | 500 | 502,
    message: string,
  ) {
    super(message);
    this.name = "SigninError";
  }
}

/** ThreeFold Connect names (`alice.3bot`): also used in a URL path, so no `/`, `?`, `%` or spaces. */
export const doubleNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "not a ThreeFold Connect name");

export function base64ToBytes(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The hub's X25519 key pair from the `HUB_TFCONNECT_PRIVATE_KEY` secret (base64 of 32 bytes). */
export function hubKeyPair(secret: string | undefined): { publicKey: string; secretKey: Uint8Array } {
  const sk = secret ? base64ToBytes(secret.trim()) : null;
  if (!sk || sk.length !== nacl.box.secretKeyLength) {
    throw new SigninError(500, "ThreeFold Connect sign-in is not configured on this hub (HUB_TFCONNECT_PRIVATE_KEY).");
  }
  return { publicKey: bytesToBase64(nacl.box.keyPair.fromSecretKey(sk).publicKey), secretKey: sk };
}

export interface LoginRequest {
  loginUrl: string;
  appId: string;
  hubPublicKey: string;
  state: string;
  /** Relative callback path, as the original sends it (`/callback_threebot` or `/callback_token`). */
  redirectUrl: string;
}

/** The redirect to the login service; parameters in the original's order, form-encoded like `quote_plus`. */
export function loginRedirect(req: LoginRequest): string {
  const params = new URLSearchParams([
    ["appid", req.appId],
    ["publickey", req.hubPublicKey],
    ["state", req.state],
    ["redirecturl", req.redirectUrl],
    // The original asked for `{}`; we need the email to refuse unverified ones.
    ["scope", JSON.stringify({ email: true })],
  ]);
  return `${req.loginUrl}/?${params.toString()}`;
}

const outerSchema = z.object({ doubleName: z.string(), signedAttempt: z.string().min(1) });
const signedSchema = z.object({
  doubleName: z.string(),
  signedState: z.string(),
  appId: z.string().optional(),
  data: z.object({ nonce: z.string(), ciphertext: z.string() }),
});
const userSchema = z.object({ publicKey: z.string() });
const payloadSchema = z.object({
  email: z
    .object({
      email: z.string().optional(),
      // The original refused `null` only; `false` and a missing flag are unverified too.
      verified: z.unknown().optional(),
    })
    .nullish(),
});

export interface VerifiedSignin {
  user: string;
  email: string | null;
}

export interface VerifyOptions {
  /** Raw `signedAttempt` query parameter. */
  signedAttempt: string;
  /** The state this browser was given (from its signed cookie). */
  expectedState: string;
  /** Our appid: when the attempt names one, it must be ours. */
  appId: string;
  loginUrl: string;
  hubSecretKey: Uint8Array;
  fetcher?: typeof fetch;
}

async function fetchUserKey(loginUrl: string, user: string, fetcher: typeof fetch): Promise<Uint8Array<ArrayBuffer>> {
  let res: Response;
  try {
    res = await fetcher(`${loginUrl}/api/users/${encodeURIComponent(user)}`, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new SigninError(502, "ThreeFold Connect could not be reached to check the sign-in; try again later.");
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new SigninError(400, `ThreeFold Connect does not know the user ${JSON.stringify(user)}, denied.`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new SigninError(502, `ThreeFold Connect answered ${res.status} for the user's key; try again later.`);
  }
  const parsed = userSchema.safeParse(await res.json().catch(() => null));
  const key = parsed.success ? base64ToBytes(parsed.data.publicKey) : null;
  if (!key || key.length !== 32) throw new SigninError(502, "ThreeFold Connect gave no usable key for this user.");
  return key;
}

async function verifyEd25519(
  publicKey: Uint8Array<ArrayBuffer>,
  signed: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array | null> {
  if (signed.length <= 64) return null;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signed.slice(0, 64), signed.slice(64));
    return ok ? signed.slice(64) : null;
  } catch {
    return null;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Verifies a ThreeFold Connect callback; returns the signed-in user or throws SigninError. */
export async function verifySignedAttempt(opts: VerifyOptions): Promise<VerifiedSignin> {
  const fetcher = opts.fetcher ?? fetch;
  const outer = outerSchema.safeParse(parseJson(opts.signedAttempt));
  if (!outer.success) throw new SigninError(400, "The answer of ThreeFold Connect could not be read, denied.");
  const name = doubleNameSchema.safeParse(outer.data.doubleName);
  if (!name.success) throw new SigninError(400, "The answer of ThreeFold Connect names no valid user, denied.");
  const user = name.data;
  // The user becomes a repository of this hub (the website acts as it): the repository rule applies.
  const problem = repositoryProblem(user);
  if (problem) throw new SigninError(400, `This hub cannot have a repository for this user: ${refusal(user, problem)}. Denied.`);

  const userKey = await fetchUserKey(opts.loginUrl, user, fetcher);
  const signedBytes = base64ToBytes(outer.data.signedAttempt);
  const message = signedBytes ? await verifyEd25519(userKey, signedBytes) : null;
  if (!message) throw new SigninError(400, "Unable to verify the signature of the sign-in, denied.");

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(message);
  } catch {
    throw new SigninError(400, "The signed sign-in could not be read, denied.");
  }
  const signed = signedSchema.safeParse(parseJson(text));
  if (!signed.success) throw new SigninError(400, "The signed sign-in could not be read, denied.");
  // The signature covers the inner fields only: the outer name must be the one that was signed.
  if (signed.data.doubleName !== user) throw new SigninError(400, "The signed sign-in is for another user, denied.");
  // The state binds the answer to the sign-in this browser started (the original never checked it).
  if (!safeEqual(signed.data.signedState, opts.expectedState)) {
    throw new SigninError(
      400,
      "This sign-in answer does not belong to the sign-in started in this browser (state mismatch), denied.",
    );
  }
  if (signed.data.appId !== undefined && signed.data.appId !== opts.appId) {
    throw new SigninError(400, "This sign-in was made for another application, denied.");
  }

  const nonce = base64ToBytes(signed.data.data.nonce);
  const ciphertext = base64ToBytes(signed.data.data.ciphertext);
  let opened: Uint8Array | null = null;
  if (nonce && ciphertext && nonce.length === nacl.box.nonceLength) {
    try {
      opened = nacl.box.open(ciphertext, nonce, ed25519.utils.toMontgomery(userKey), opts.hubSecretKey);
    } catch {
      opened = null;
    }
  }
  if (!opened) throw new SigninError(400, "Unable to decrypt payload, denied.");

  let payloadText: string;
  try {
    payloadText = new TextDecoder("utf-8", { fatal: true }).decode(opened);
  } catch {
    throw new SigninError(400, "Unable to decrypt payload, denied.");
  }
  const payload = payloadSchema.safeParse(parseJson(payloadText));
  if (!payload.success) throw new SigninError(400, "The decrypted sign-in could not be read, denied.");
  const email = payload.data.email;
  const verified = email?.verified;
  if (!email || verified === undefined || verified === null || verified === false || verified === "") {
    throw new SigninError(
      403,
      "Email unverified, access denied. Verify your email address in ThreeFold Connect, then sign in again.",
    );
  }
  return { user, email: email.email ?? null };
}
