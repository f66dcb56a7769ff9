/** Downloads (docs/design.md §2.5): direct 200 from R2, validators, ranges, caching, .md5/.txt/.json. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, fixtureBytes, json, md5Hex, me, migrate, publish } from "./support/hub";

const MAIN = () => fixtureBytes("main");
let sha: string;

beforeAll(async () => {
  await migrate();
  sha = (await publish("dl", "app", "main")).body.payload.sha256;
  await me("dl", "/app/link/latest");
  await me("dl", "/app/link/loop1");
  await me("dl", "/loop1/link/loop2");
  await me("dl", "/loop2/link/loop1");
  await me("dl", "/v1/member/tag/dl/latest");
});

describe("GET /<repo>/<name>.flist", () => {
  it("answers a direct 200 with the bytes and every validator", async () => {
    const res = await fetchHub("/dl/app.flist", { redirect: "manual" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Location")).toBeNull();
    expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(res.headers.get("Content-Length")).toBe(String(MAIN().length));
    expect(res.headers.get("ETag")).toBe(`"${await md5Hex(MAIN())}"`);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Cache-Control")).toMatch(/max-age=60/);
    const updated = (await json("/api/flist/dl/app/light")).body.updated as number;
    expect(res.headers.get("Last-Modified")).toBe(new Date(updated * 1000).toUTCString());
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(MAIN());
  });

  it("serves the same bytes through links; loops, missing names and non-flist files are JSON 404s", async () => {
    expect(new Uint8Array(await (await fetchHub("/dl/latest.flist")).arrayBuffer())).toEqual(MAIN());
    // `/<repo>/a.flist.flist` serves a.flist, as the original.
    expect((await fetchHub("/dl/app.flist.flist")).status).toBe(200);
    for (const path of ["/dl/loop1.flist", "/dl/nope.flist", "/nobody/app.flist", "/dl/app"]) {
      const res = await fetchHub(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({ status: "error" });
    }
  });

  it("answers 304 to If-None-Match with the md5 and to a later If-Modified-Since", async () => {
    const etag = `"${await md5Hex(MAIN())}"`;
    const inm = await fetchHub("/dl/app.flist", { headers: { "If-None-Match": `"other", ${etag}` } });
    expect(inm.status).toBe(304);
    expect(inm.headers.get("ETag")).toBe(etag);
    expect((await fetchHub("/dl/app.flist", { headers: { "If-None-Match": '"other"' } })).status).toBe(200);
    const ims = await fetchHub("/dl/app.flist", { headers: { "If-Modified-Since": new Date(Date.now() + 60_000).toUTCString() } });
    expect(ims.status).toBe(304);
  });

  it("serves byte ranges with 206 and refuses unsatisfiable ones with 416", async () => {
    const bytes = MAIN();
    const first = await fetchHub("/dl/app.flist", { headers: { Range: "bytes=0-9" } });
    expect(first.status).toBe(206);
    expect(first.headers.get("Content-Range")).toBe(`bytes 0-9/${bytes.length}`);
    expect(first.headers.get("Content-Length")).toBe("10");
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(bytes.slice(0, 10));
    const tail = await fetchHub("/dl/app.flist", { headers: { Range: "bytes=-5" } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(-5));
    const open = await fetchHub("/dl/app.flist", { headers: { Range: `bytes=${bytes.length - 3}-` } });
    expect(open.headers.get("Content-Range")).toBe(`bytes ${bytes.length - 3}-${bytes.length - 1}/${bytes.length}`);
    const beyond = await fetchHub("/dl/app.flist", { headers: { Range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("Content-Range")).toBe(`bytes */${bytes.length}`);
    // A stale If-Range means "send everything".
    const stale = await fetchHub("/dl/app.flist", { headers: { Range: "bytes=0-9", "If-Range": '"old"' } });
    expect(stale.status).toBe(200);
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const res = await fetchHub("/dl/app.flist", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(MAIN().length));
    expect(res.headers.get("ETag")).toBe(`"${await md5Hex(MAIN())}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("fills the edge cache under the content-addressed URL, shared by every name of the same bytes", async () => {
    await (await fetchHub("/dl/latest.flist")).arrayBuffer();
    const key = `http://hub.test/api/blobs/${sha}.flist`;
    let cached: Response | undefined;
    for (let i = 0; i < 20 && !cached; i++) {
      cached = await (caches as unknown as { default: Cache }).default.match(key);
      if (!cached) await new Promise((r) => setTimeout(r, 25));
    }
    expect(cached).toBeDefined();
    expect(cached!.headers.get("Cache-Control")).toMatch(/immutable/);
    expect(new Uint8Array(await cached!.arrayBuffer())).toEqual(MAIN());
  });
});

describe("edge cache", () => {
  it("serves a cached blob without reading R2 again", async () => {
    const published = (await publish("dl-cache", "m", "merged")).body.payload;
    await (await fetchHub("/dl-cache/m.flist")).arrayBuffer();
    const key = `http://hub.test/api/blobs/${published.sha256}.flist`;
    for (let i = 0; i < 20 && !(await (caches as unknown as { default: Cache }).default.match(key)); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    // With the R2 object gone, only the cache can answer.
    await env.FLISTS.delete(`blobs/${published.sha256}`);
    const res = await fetchHub("/dl-cache/m.flist");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(fixtureBytes("merged").length));
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(fixtureBytes("merged"));
  });
});

describe("content-addressed and tag URLs", () => {
  it("/api/blobs/<sha256>.flist serves immutable bytes and its .md5", async () => {
    const res = await fetchHub(`/api/blobs/${sha}.flist`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(MAIN());
    const md5 = await fetchHub(`/api/blobs/${sha}.flist.md5`);
    expect(await md5.text()).toBe(`${await md5Hex(MAIN())}\n`);
    expect((await fetchHub(`/api/blobs/${"0".repeat(64)}.flist`)).status).toBe(404);
    expect((await fetchHub("/api/blobs/nothex.flist")).status).toBe(404);
  });

  it("/<repo>/tags/<tag>/<name>.flist serves the member's flist", async () => {
    const res = await fetchHub("/dl/tags/v1/member.flist");
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(MAIN());
    expect((await fetchHub("/dl/tags/v1/other.flist")).status).toBe(404);
    expect((await fetchHub("/dl/tags/v9/member.flist")).status).toBe(404);
  });
});

describe(".md5 / .txt / .json", () => {
  it(".flist.md5 is the stored md5 and a newline, text/plain", async () => {
    const res = await fetchHub("/dl/app.flist.md5");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(`${await md5Hex(MAIN())}\n`);
    expect(await (await fetchHub("/dl/latest.flist.md5")).text()).toBe(`${await md5Hex(MAIN())}\n`);
    expect((await fetchHub("/dl/loop1.flist.md5")).status).toBe(404);
    expect((await fetchHub("/dl/none.flist.md5")).status).toBe(404);
  });

  it(".txt is the original's text card", async () => {
    const res = await fetchHub("/dl/app.txt");
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(
      `File:     app.flist\nUploader: dl\nSource:   http://hub.test/dl/app.flist\nStorage:  zdb://127.0.0.1:9900\nChecksum: ${await md5Hex(MAIN())}\n`,
    );
  });

  it(".json is the object the original meant to answer (it always failed with a 500)", async () => {
    const { status, body } = await json("/dl/app.flist.json");
    expect(status).toBe(200);
    expect(body).toEqual({
      flist: "app.flist",
      uploader: "dl",
      source: "http://hub.test/dl/app.flist",
      storage: "zdb://127.0.0.1:9900",
      checksum: await md5Hex(MAIN()),
    });
    expect((await json("/dl/none.json")).status).toBe(404);
  });
});

describe("CORS and errors", () => {
  it("every response carries Access-Control-Allow-Origin: *, errors included", async () => {
    for (const [path, init] of [
      ["/api/flist", {}],
      ["/api/flist/nobody", {}],
      ["/dl/app.flist.md5", { headers: { Origin: "https://dashboard.grid.tf" } }],
      ["/no/such/route/at/all", {}],
      ["/api/flist/me", {}],
    ] as [string, RequestInit][]) {
      const res = await fetchHub(path, init);
      expect(res.headers.get("Access-Control-Allow-Origin"), path).toBe("*");
    }
    const preflight = await fetchHub("/api/flist/me", { method: "OPTIONS", headers: { Origin: "https://x", "Access-Control-Request-Method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });

  it("unknown routes are JSON 404s, never HTML", async () => {
    const res = await fetchHub("/a/b/c/d/e");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ status: "error", message: "not found" });
    expect(env.FLISTS).toBeDefined();
  });
});
