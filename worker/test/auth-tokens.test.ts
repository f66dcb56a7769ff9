/**
 * Token format compatibility with the original hub (docs/compatibility.md §4.1). Every constant here comes from an
 * independent computation: RFC 8032 §7.1 test vectors, and tokens minted once with Node's `node:crypto`
 * `sign(null, payload, key)` over payloads printed by Python's `json.dumps` — not from this code.
 */
import { describe, expect, it } from "vitest";
import { ed25519Sign, signToken, tokenDigest, tokenPayload, verifyToken } from "../src/auth/tokens";

const SEED = "4242424242424242424242424242424242424242424242424242424242424242";
const OTHER_SEED = "1111111111111111111111111111111111111111111111111111111111111111";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (h: string) => new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
const b64url = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_");

// node:crypto, payload `["alice.3bot", 1679215770]` (90 bytes: no padding needed).
const ALICE =
  "Wb6d_OQWqna0pQmR40mJ4UierGbBmZ-hv2LHngaGPwqjr5lPxOLMw8qtaVAOETGjHG5E8L7Lp3hdQC4EtWRKBFsiYWxpY2UuM2JvdCIsIDE2NzkyMTU3NzBd";
// node:crypto, payload `["zo\u00eb", 1700000000]` (Python escapes non-ASCII by default), two `=` of padding.
const ZOE =
  "QEtiaCFGSAWbaEcNMvMf7ltZHWu294trHK8cLDZjnbucCEyLDQIUJgEA3vbTcwNnmU1UrJMQCWciVoTaFlXyDFsiem9cdTAwZWIiLCAxNzAwMDAwMDAwXQ==";
// node:crypto, payload `["bob", 1]`, one `=` of padding.
const BOB =
  "UjEqG9fGvfTjm4ZoIZ0PZVAx6iJAf0RMwEOwaV4CIOEfbMSxYy7mumTovwmKQSa1oQNubGvzxyOEX7Ubt1nJAlsiYm9iIiwgMV0=";

describe("Ed25519 over WebCrypto", () => {
  it("matches RFC 8032 §7.1 test 1 (empty message)", async () => {
    const sig = await ed25519Sign(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      new Uint8Array(0),
    );
    expect(hex(sig)).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
  });

  it("matches RFC 8032 §7.1 test 2 (one byte)", async () => {
    const sig = await ed25519Sign("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", fromHex("72"));
    expect(hex(sig)).toBe(
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    );
  });
});

describe("token format (original hub compatible)", () => {
  it("builds the payload exactly as Python json.dumps([user, ts])", () => {
    expect(tokenPayload("alice.3bot", 1679215770)).toBe('["alice.3bot", 1679215770]');
    expect(tokenPayload("zoë", 1700000000)).toBe('["zo\\u00eb", 1700000000]');
    expect(tokenPayload('a"b\\c', 0)).toBe('["a\\"b\\\\c", 0]');
  });

  it("mints byte-identical tokens to an independent Ed25519 implementation", async () => {
    expect(await signToken(SEED, "alice.3bot", 1679215770)).toBe(ALICE);
    expect(await signToken(SEED, "zoë", 1700000000)).toBe(ZOE);
    expect(await signToken(SEED, "bob", 1)).toBe(BOB);
  });

  it("is base64url with = padding and never contains a dot", async () => {
    const t = await signToken(SEED, "someone.3bot");
    expect(t).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
    expect(t.length % 4).toBe(0);
    expect(t).not.toContain(".");
  });

  it("verifies tokens minted elsewhere and decodes [user, ts]", async () => {
    expect(await verifyToken(SEED, ALICE)).toMatchObject({ user: "alice.3bot", issuedAt: 1679215770 });
    expect(await verifyToken(SEED, ZOE)).toMatchObject({ user: "zoë", issuedAt: 1700000000 });
    expect(await verifyToken(SEED, BOB)).toMatchObject({ user: "bob", issuedAt: 1 });
  });

  it("round-trips with the current time by default", async () => {
    const before = Math.floor(Date.now() / 1000);
    const v = await verifyToken(SEED, await signToken(SEED, "carol"));
    expect(v?.user).toBe("carol");
    expect(v?.issuedAt).toBeGreaterThanOrEqual(before);
  });
});

describe("verifyToken refuses", () => {
  it("a token signed by another seed", async () => {
    expect(await verifyToken(OTHER_SEED, ALICE)).toBeNull();
    expect(await verifyToken(SEED, await signToken(OTHER_SEED, "alice.3bot", 1679215770))).toBeNull();
  });

  it("a changed payload or signature", async () => {
    const bytes = Uint8Array.from(atob(ALICE.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const payloadTampered = bytes.slice();
    payloadTampered[bytes.length - 2] = "1".charCodeAt(0); // ts ...770 -> ...710
    expect(await verifyToken(SEED, b64url(payloadTampered))).toBeNull();
    const sigTampered = bytes.slice();
    sigTampered[0] = (sigTampered[0] ?? 0) ^ 1;
    expect(await verifyToken(SEED, b64url(sigTampered))).toBeNull();
  });

  it("bad encodings: missing padding, standard alphabet, junk, empty, too short, IYO-style JWTs", async () => {
    expect(await verifyToken(SEED, BOB.replace(/=+$/, ""))).toBeNull();
    expect(await verifyToken(SEED, ZOE.replace(/=+$/, ""))).toBeNull();
    const standard = ALICE.replace(/-/g, "+").replace(/_/g, "/");
    expect(standard).not.toBe(ALICE);
    expect(await verifyToken(SEED, standard)).toBeNull();
    expect(await verifyToken(SEED, "!!!!")).toBeNull();
    expect(await verifyToken(SEED, "")).toBeNull();
    expect(await verifyToken(SEED, b64url(new Uint8Array(64)))).toBeNull();
    expect(await verifyToken(SEED, "eyJhbGciOiJFUzM4NCJ9.eyJ1c2VybmFtZSI6ImEifQ.c2ln")).toBeNull();
  });

  it("a valid signature over a payload that is not [user, ts]", async () => {
    for (const payload of ['"alice"', '["alice"]', '["alice", "1"]', '["", 1]', "[1, 1]", '["a", 1.5]', "not json"]) {
      const p = new TextEncoder().encode(payload);
      const sig = await ed25519Sign(SEED, p);
      const t = new Uint8Array(64 + p.length);
      t.set(sig);
      t.set(p, 64);
      expect(await verifyToken(SEED, b64url(t)), payload).toBeNull();
    }
  });
});

describe("tokenDigest", () => {
  it("is the hex SHA-256 of the decoded token bytes", async () => {
    const v = await verifyToken(SEED, BOB);
    if (!v) throw new Error("BOB must verify");
    const expected = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(v.bytes))));
    expect(await tokenDigest(v.bytes)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });
});
