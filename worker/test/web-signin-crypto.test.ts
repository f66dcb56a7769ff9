/**
 * The ThreeFold Connect cryptography on its own: the Ed25519 → Curve25519 conversion the hub relies on (checked
 * against the independent derivation from the seed, as libsodium defines it), the hub's key pair, the redirect's
 * encoding (Python's `urlencode(..., quote_via=quote_plus)`), and verifySignedAttempt's refusals.
 */
import { describe, expect, it } from "vitest";
import { ed25519 } from "@noble/curves/ed25519.js";
import nacl from "tweetnacl";
import { SigninError, hubKeyPair, loginRedirect, verifySignedAttempt } from "../src/web/signin/tfconnect";
import { b64, makeHubKey, makeUser, signedAttempt, userRecord, type Fault } from "./web-signin-peer";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("Ed25519 → Curve25519", () => {
  it("the converted public key is the X25519 key of the clamped SHA-512 of the seed (RFC 8032 test 1)", async () => {
    const seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    const pk = ed25519.getPublicKey(seed);
    expect(toHex(pk)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const h = new Uint8Array(await crypto.subtle.digest("SHA-512", seed)).slice(0, 32);
    h[0]! &= 248;
    h[31]! &= 127;
    h[31]! |= 64;
    expect(toHex(ed25519.utils.toMontgomery(pk))).toBe(toHex(nacl.scalarMult.base(h)));
  });
});

describe("hub key and redirect", () => {
  it("derives the hub's public key from HUB_TFCONNECT_PRIVATE_KEY and refuses a malformed one", () => {
    const key = makeHubKey();
    expect(hubKeyPair(key.privateKey).publicKey).toBe(key.publicKey);
    expect(hubKeyPair(` ${key.privateKey}\n`).publicKey).toBe(key.publicKey);
    for (const bad of [undefined, "", "abc", b64(new Uint8Array(31))]) {
      expect(() => hubKeyPair(bad)).toThrow(SigninError);
    }
  });

  it("encodes the redirect like quote_plus, in the original's parameter order", () => {
    const url = loginRedirect({
      loginUrl: "https://login.threefold.me",
      appId: "hub.grid.tf",
      hubPublicKey: "ab+/cd==",
      state: "S1",
      redirectUrl: "/callback_threebot",
    });
    expect(url).toBe(
      "https://login.threefold.me/?appid=hub.grid.tf&publickey=ab%2B%2Fcd%3D%3D&state=S1" +
        "&redirecturl=%2Fcallback_threebot&scope=%7B%22email%22%3Atrue%7D",
    );
  });
});

describe("verifySignedAttempt", () => {
  const hub = makeHubKey();
  const user = makeUser("dave.3bot");
  const fetcher = (async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url === "http://tf.test/api/users/dave.3bot") return Response.json(userRecord(user));
    return new Response("{}", { status: 404 });
  }) as typeof fetch;
  const verify = (fault?: Fault, state = "state-0123456789abcdef") =>
    verifySignedAttempt({
      signedAttempt: signedAttempt(user, {
        state: "state-0123456789abcdef",
        appId: "hub.test",
        hubPublicKey: hub.publicKey,
        fault,
      }),
      expectedState: state,
      appId: "hub.test",
      loginUrl: "http://tf.test",
      hubSecretKey: hubKeyPair(hub.privateKey).secretKey,
      fetcher,
    });

  it("accepts a genuine attempt and returns the user and email", async () => {
    expect(await verify()).toEqual({ user: "dave.3bot", email: "dave@example.org" });
  });

  it.each([
    ["bad-signature", 400, /signature/],
    ["tampered-state", 400, /state mismatch/],
    ["wrong-hub-key", 400, /decrypt/],
    ["other-user", 400, /another user/],
    ["unverified-email", 403, /Email unverified/],
  ] as const)("refuses %s", async (fault, status, message) => {
    const err = await verify(fault).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigninError);
    expect((err as SigninError).status).toBe(status);
    expect((err as SigninError).message).toMatch(message);
  });

  it("refuses a genuine attempt for another state", async () => {
    await expect(verify(undefined, "state-of-another-browser")).rejects.toThrow(/state mismatch/);
  });

  it("reports an unreachable login service as such", async () => {
    const err = await verifySignedAttempt({
      signedAttempt: signedAttempt(user, { state: "s".repeat(20), appId: "hub.test", hubPublicKey: hub.publicKey }),
      expectedState: "s".repeat(20),
      appId: "hub.test",
      loginUrl: "http://tf.test",
      hubSecretKey: hubKeyPair(hub.privateKey).secretKey,
      fetcher: (async () => {
        throw new TypeError("connection refused");
      }) as typeof fetch,
    }).catch((e: unknown) => e);
    expect((err as SigninError).status).toBe(502);
  });
});
