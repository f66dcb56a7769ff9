/**
 * The front's revalidating cache (scripts/lib/front-cache.ts) before a stand-in upstream that behaves like the
 * Worker's download route: public answers with a strong ETag, 304 to a matching If-None-Match. Every request reaches
 * the upstream; a kept body is sent only when the upstream answers 304 to the front's own revalidation, which carries
 * the secret; what a shared cache may not keep is always relayed whole. The Worker's side (counting those 304s) is
 * worker/test/download-counts.test.ts.
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Front, startFront } from "../scripts/lib/front.ts";
import { MAX_ENTRY } from "../scripts/lib/front-cache.ts";
import { FRONT_REVALIDATION_HEADER } from "../protocol/front-revalidation.ts";

const SECRET = "front-test-secret";
let upstream: http.Server;
let front: Front;
let plain: Front;
/** What the upstream saw of each request: its path, If-None-Match and revalidation header. */
let seen: { path: string; inm?: string; revalidation?: string }[] = [];
let version = 1;

const bodyOf = (path: string) => Buffer.from(`${path} v${version} `.repeat(path.includes("big") ? MAX_ENTRY / 8 : 1000));

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const path = req.url ?? "/";
    seen.push({ path, inm: req.headers["if-none-match"] as string | undefined, revalidation: req.headers[FRONT_REVALIDATION_HEADER.toLowerCase()] as string | undefined });
    const body = bodyOf(path);
    const etag = `"${crypto.createHash("md5").update(body).digest("hex")}"`;
    const headers: Record<string, string> = { ETag: etag, "Cache-Control": path.includes("private") ? "private" : "public, max-age=60", "X-Answer": String(seen.length) };
    if (path.includes("nolength")) {
      res.writeHead(200, headers);
      res.end(body);
      return;
    }
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": "application/octet-stream", "Content-Length": String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  front = await startFront({ host: "127.0.0.1", port: 0, upstreamPort, revalidationSecret: SECRET });
  plain = await startFront({ host: "127.0.0.1", port: 0, upstreamPort });
});

beforeEach(() => {
  seen = [];
});

afterAll(async () => {
  await front?.close();
  await plain?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function get(base: Front, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; answer: string | null; length: string | null }> {
  const res = await fetch(`${base.url}${path}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, answer: res.headers.get("x-answer"), length: res.headers.get("content-length") };
}

describe("the front's revalidating cache", () => {
  it("sends a kept body when the upstream answers 304 to its revalidation, with the 304's headers", async () => {
    const first = await get(front, "/r/a.flist");
    const second = await get(front, "/r/a.flist");
    expect(second.status).toBe(200);
    expect(second.body.equals(first.body)).toBe(true);
    expect(second.length).toBe(String(first.body.length));
    expect(second.answer).toBe("2"); // the 304's own header, not the kept one
    expect(seen).toEqual([
      { path: "/r/a.flist", inm: undefined, revalidation: undefined },
      { path: "/r/a.flist", inm: `"${crypto.createHash("md5").update(first.body).digest("hex")}"`, revalidation: SECRET },
    ]);
  });

  it("relays the new body when the upstream's answer changed, and keeps that one", async () => {
    await get(front, "/r/b.flist");
    version++;
    const changed = await get(front, "/r/b.flist");
    expect(changed.body.equals(bodyOf("/r/b.flist"))).toBe(true);
    const again = await get(front, "/r/b.flist");
    expect(again.body.equals(changed.body)).toBe(true);
    expect(seen.map((s) => s.inm !== undefined)).toEqual([false, true, true]);
  });

  it("never revalidates ranges, conditionals, credentials, no-cache, private, unsized or oversized answers", async () => {
    const cases: [string, Record<string, string>][] = [
      ["/r/c.flist", { Range: "bytes=0-9" }],
      ["/r/c.flist", { Authorization: "bearer x" }],
      ["/r/c.flist", { Cookie: "s=1" }],
      ["/r/c.flist", { "If-None-Match": '"other"' }],
      ["/r/c.flist", { "Cache-Control": "no-cache" }],
      ["/r/private.flist", {}],
      ["/r/nolength.flist", {}],
      ["/r/big.flist", {}],
    ];
    for (const [path, headers] of cases) {
      await get(front, path, headers);
      const again = await get(front, path, headers);
      expect(again.status, `${path} ${JSON.stringify(headers)}`).toBe(200);
      expect(again.body.equals(bodyOf(path)), path).toBe(true);
    }
    expect(seen.filter((s) => s.revalidation !== undefined)).toEqual([]);
    expect(bodyOf("/r/big.flist").length).toBeGreaterThan(MAX_ENTRY);
  });

  it("drops a client's own revalidation header, and caches nothing without the secret", async () => {
    await get(front, "/r/d.flist", { [FRONT_REVALIDATION_HEADER]: "guess" });
    expect(seen[0]).toEqual({ path: "/r/d.flist", inm: undefined, revalidation: undefined });
    seen = [];
    await get(plain, "/r/e.flist");
    await get(plain, "/r/e.flist");
    expect(seen.map((s) => s.inm)).toEqual([undefined, undefined]);
  });
});
