/**
 * The LXD/Incus image server through the whole application: the curl upload form, the JSON API,
 * the simplestreams index and its combined hashes (recomputed here with WebCrypto over meta ‖ root), the file
 * downloads (Range/ETag/304), ownership, and the overwrite/delete settings.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import { SEED, migrate, now, internalHeaders } from "./auth-support";
import { bytesOf, curlForm, env, hub, sha256Hex } from "./images-support";

const V = "20260301_10:30";
const tokens: Record<string, string> = {};

async function upload(token: string, path: string, bytes: Uint8Array, overrides = {}, fields = {}) {
  const { body, headers } = curlForm(path, bytes, fields);
  const res = await hub("/images/", { method: "POST", headers: { ...headers, Authorization: `bearer ${token}` }, body }, overrides);
  return { status: res.status, body: (await res.json()) as any };
}

async function imagesJson(): Promise<any> {
  const res = await hub("/streams/v1/images.json");
  expect(res.status).toBe(200);
  return res.json();
}

beforeAll(async () => {
  await migrate();
  tokens.alice = await signToken(SEED, "alice", now() - 10);
  tokens.bob = await signToken(SEED, "bob", now() - 10);
  tokens.carol = await signToken(SEED, "carol", now() - 10);
  // carol is a member of the organisation "team".
  expect((await hub("/internal/members/team/carol", { method: "PUT", headers: internalHeaders() })).status).toBe(200);
});

describe("upload and index", () => {
  const meta = bytesOf("lxd metadata", 700);
  const incus = bytesOf("incus metadata", 900);
  const squash = bytesOf("squashfs", 3 * 1024 * 1024 + 17); // several stream chunks, not block-aligned
  const rootxz = bytesOf("root.tar.xz", 5000);
  const disk = bytesOf("qcow2", 70_000);
  const base = `alpine/3.20/amd64/default/${V}`;

  beforeAll(async () => {
    // metadata first, then the roots; incus.tar.xz after them (the order the seed server also accepts).
    for (const [file, bytes] of [
      ["lxd.tar.xz", meta],
      ["rootfs.squashfs", squash],
      ["root.tar.xz", rootxz],
      ["disk.qcow2", disk],
      ["incus.tar.xz", incus],
    ] as const) {
      const res = await upload(tokens.alice!, `${base}/${file}`, bytes);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });

  it("index.json points at images.json and lists the products", async () => {
    const res = await hub("/streams/v1/index.json");
    expect(res.status).toBe(200);
    const index = (await res.json()) as any;
    expect(index.format).toBe("index:1.0");
    expect(index.index.images).toMatchObject({
      datatype: "image-downloads",
      path: "streams/v1/images.json",
      format: "products:1.0",
    });
    expect(index.index.images.products).toContain("alpine:3.20:amd64:default");
  });

  it("images.json has the product, version, items and the combined hashes LXD/Incus take as fingerprints", async () => {
    const doc = await imagesJson();
    expect(doc).toMatchObject({ content_id: "images", datatype: "image-downloads", format: "products:1.0" });
    const product = doc.products["alpine:3.20:amd64:default"];
    expect(product).toMatchObject({
      arch: "amd64",
      os: "alpine",
      release: "3.20",
      release_title: "3.20",
      variant: "default",
      aliases: "alpine/3.20/default,alpine/3.20",
    });
    expect(Object.keys(product.versions)).toEqual([V]);
    const items = product.versions[V].items;
    expect(items["rootfs.squashfs"]).toEqual({
      ftype: "squashfs",
      path: `images/${base}/rootfs.squashfs`,
      sha256: await sha256Hex(squash),
      size: squash.length,
    });
    expect(items["disk.qcow2"]).toMatchObject({ ftype: "disk-kvm.img", size: disk.length });
    expect(items["root.tar.xz"]).toMatchObject({ ftype: "root.tar.xz", sha256: await sha256Hex(rootxz) });
    for (const [name, bytes] of [
      ["lxd.tar.xz", meta],
      ["incus.tar.xz", incus],
    ] as const) {
      expect(items[name]).toEqual({
        ftype: name,
        path: `images/${base}/${name}`,
        sha256: await sha256Hex(bytes),
        size: bytes.length,
        combined_squashfs_sha256: await sha256Hex(bytes, squash),
        combined_rootxz_sha256: await sha256Hex(bytes, rootxz),
        combined_sha256: await sha256Hex(bytes, rootxz),
        "combined_disk-kvm-img_sha256": await sha256Hex(bytes, disk),
      });
    }
  });

  it("serves the files at their path with ETag, 304, HEAD and Range", async () => {
    const path = `/images/${base}/rootfs.squashfs`;
    const full = await hub(path);
    expect(full.status).toBe(200);
    // Compared by hash: a byte-wise toEqual of 3 MiB takes seconds.
    expect(await sha256Hex(new Uint8Array(await full.arrayBuffer()))).toBe(await sha256Hex(squash));
    const etag = full.headers.get("ETag");
    expect(etag).toBe(`"${await sha256Hex(squash)}"`);
    expect(full.headers.get("Content-Length")).toBe(String(squash.length));
    expect((await hub(path, { headers: { "If-None-Match": etag! } })).status).toBe(304);
    const head = await hub(path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(squash.length));
    const part = await hub(path, { headers: { Range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 10-19/${squash.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(squash.subarray(10, 20));
    expect((await hub(`/images/${base}/nothing.squashfs`)).status).toBe(404);
    // ':' percent-encoded as some clients send it.
    expect((await hub(path.replace(":", "%3A"), { method: "HEAD" })).status).toBe(200);
  });

  it("metadata.json overrides os, release_title and aliases whenever it is uploaded (array or comma string)", async () => {
    const first = await upload(tokens.alice!, `${base}/metadata.json`, bytesOf(JSON.stringify({ release_title: "Alpine 3.20", aliases: ["al", "al/3"] })));
    expect(first.status).toBe(200);
    let product = (await imagesJson()).products["alpine:3.20:amd64:default"];
    expect(product.release_title).toBe("Alpine 3.20");
    expect(product.aliases).toBe("al,al/3,alpine/3.20/default,alpine/3.20");
    expect(product.versions[V].items["metadata.json"]).toBeUndefined();
    const again = await upload(tokens.alice!, `${base}/metadata.json`, bytesOf(JSON.stringify({ os: "Alpine", aliases: "x,y" })));
    expect(again.status).toBe(200);
    product = (await imagesJson()).products["alpine:3.20:amd64:default"];
    expect(product.os).toBe("Alpine");
    expect(product.aliases).toBe("x,y,Alpine/3.20/default,Alpine/3.20");
    // The item paths keep the uploaded path segments.
    expect(product.versions[V].items["lxd.tar.xz"].path).toBe(`images/${base}/lxd.tar.xz`);
    const bad = await upload(tokens.alice!, `${base}/metadata.json`, bytesOf("{not json"));
    expect(bad.status).toBe(400);
  });

  it("other fields before the file are accepted; a body that is not the curl shape is refused", async () => {
    const ok = await upload(tokens.alice!, `other/1/arm64/cloud/${V}/lxd.tar.xz`, meta, {}, { note: "hello" });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const { body, headers } = curlForm(`other/1/arm64/cloud/${V}/rootfs.squashfs`, squash);
    const truncated = await hub("/images/", {
      method: "POST",
      headers: { ...headers, "Content-Length": String(body.length + 5), Authorization: `bearer ${tokens.alice}` },
      body: new Uint8Array([...body, 1, 2, 3, 4, 5]),
    });
    expect(truncated.status).toBe(400);
    const doc = await imagesJson();
    expect(doc.products["other:1:arm64:cloud"].versions[V].items["rootfs.squashfs"]).toBeUndefined();
    expect(doc.products["other:1:arm64:cloud"].arch).toBe("arm64");
  });

  it("refuses bad paths, file names, architectures and versions", async () => {
    for (const path of [
      `alpine/3.20/amd64/${V}/lxd.tar.xz`,
      `alpine/../amd64/default/${V}/lxd.tar.xz`,
      `alpine/3.20/amd64/default/${V}/evil.sh`,
      `alpine/3.20/sparc/default/${V}/lxd.tar.xz`,
      "alpine/3.20/amd64/default/2026-03-01/lxd.tar.xz",
    ]) {
      const res = await upload(tokens.alice!, path, meta);
      expect(res.status, path).toBe(400);
      expect(res.body.status).toBe("error");
    }
  });
});

describe("ownership", () => {
  it("only members of the owning repository may change an image", async () => {
    const path = `deb/12/amd64/default/${V}`;
    expect((await upload(tokens.carol!, `${path}/lxd.tar.xz`, bytesOf("m"), {})).status).toBe(200); // owned by carol
    const bob = await upload(tokens.bob!, `${path}/rootfs.squashfs`, bytesOf("r"));
    expect(bob.status).toBe(403);
    expect(bob.body.message).toMatch(/belongs to repository "carol"/);
    // Acting for the organisation creates an image owned by it; carol (a member) may change it, bob may not.
    const org = curlForm(`team/1/amd64/default/${V}/lxd.tar.xz`, bytesOf("t"));
    const asTeam = await hub("/images/", {
      method: "POST",
      headers: { ...org.headers, Authorization: `bearer ${tokens.carol}`, "X-Hub-Repository": "team" },
      body: org.body,
    });
    expect(asTeam.status).toBe(200);
    const list = (await (await hub("/api/images?repository=team")).json()) as any;
    expect(list.payload.map((p: any) => p.product)).toEqual(["team:1:amd64:default"]);
    const bobPut = await hub(`/api/images/team/1/amd64/default/${V}/rootfs.squashfs`, {
      method: "PUT",
      headers: { Authorization: `bearer ${tokens.bob}`, "Content-Length": "1" },
      body: new Uint8Array([1]),
    });
    expect(bobPut.status).toBe(403);
    const bobDelete = await hub("/api/images/team/1/amd64/default", { method: "DELETE", headers: { Authorization: `bearer ${tokens.bob}` } }, { HUB_IMAGES_ALLOW_DELETES: "true" });
    expect(bobDelete.status).toBe(403);
  });

  it("uploads without a token are refused and change nothing", async () => {
    const before = await hub("/streams/v1/images.json").then((r) => r.text());
    const { body, headers } = curlForm(`noauth/1/amd64/default/${V}/lxd.tar.xz`, bytesOf("x"));
    const res = await hub("/images/", { method: "POST", headers, body });
    expect(res.status).toBe(401);
    expect(await hub("/streams/v1/images.json").then((r) => r.text())).toBe(before);
  });
});

describe("JSON API", () => {
  it("refuses a file PUT larger than one request to this hub may carry (HUB_REQUEST_MAX_BYTES), pointing to parts", async () => {
    const bytes = bytesOf("too big", 5000);
    const res = await hub(
      `/api/images/bobos/1/x86_64/default/${V}/rootfs.squashfs`,
      { method: "PUT", headers: { Authorization: `bearer ${tokens.bob}`, "Content-Length": String(bytes.length) }, body: bytes },
      { HUB_REQUEST_MAX_BYTES: "4096" },
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toBe("file larger than 4096 bytes: use the resumable routes /api/images/uploads");
  });

  it("creates a version, streams its files with PUT, lists and deletes it", async () => {
    const auth = { Authorization: `bearer ${tokens.bob}` };
    const created = await hub("/api/images/versions", {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ os: "bobos", release: "1", arch: "x86_64", version: V, metadata: { release_title: "Bob OS 1", aliases: ["bob"] } }),
    });
    expect(created.status, await created.clone().text()).toBe(200);
    const meta = bytesOf("bob meta", 321);
    const root = bytesOf("bob root", 100_000);
    for (const [file, bytes] of [
      ["incus.tar.xz", meta],
      ["rootfs.squashfs", root],
    ] as const) {
      const res = await hub(`/api/images/bobos/1/x86_64/default/${V}/${file}`, {
        method: "PUT",
        headers: { ...auth, "Content-Length": String(bytes.length) },
        body: bytes,
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const product = (await imagesJson()).products["bobos:1:x86_64:default"];
    expect(product.arch).toBe("amd64");
    expect(product.release_title).toBe("Bob OS 1");
    expect(product.aliases).toBe("bob,bobos/1/default,bobos/1");
    expect(product.versions[V].items["incus.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(meta, root));
    const list = (await (await hub("/api/images?repository=bob")).json()) as any;
    expect(list.payload[0].versions[0].items.map((i: any) => i.name)).toEqual(["incus.tar.xz", "rootfs.squashfs"]);

    const url = `/api/images/bobos/1/x86_64/default/${V}`;
    const refused = await hub(url, { method: "DELETE", headers: auth });
    expect(refused.status).toBe(405);
    expect(((await refused.json()) as any).message).toBe("Deletion not permitted");
    const keys = list.payload[0].versions[0].items.length;
    expect(keys).toBe(2);
    const objectsBefore = (await env.FLISTS.list({ prefix: "images/objects/" })).objects.length;
    const deleted = await hub(url, { method: "DELETE", headers: auth }, { HUB_IMAGES_ALLOW_DELETES: "true" });
    expect(deleted.status).toBe(200);
    expect((await env.FLISTS.list({ prefix: "images/objects/" })).objects.length).toBe(objectsBefore - 2);
    expect((await imagesJson()).products["bobos:1:x86_64:default"]).toBeUndefined();
    expect((await hub(`/images/bobos/1/x86_64/default/${V}/rootfs.squashfs`)).status).toBe(404);
    const product404 = await hub("/api/images/bobos/1/x86_64/default", { method: "DELETE", headers: auth }, { HUB_IMAGES_ALLOW_DELETES: "true" });
    expect(product404.status).toBe(200); // the product row itself is still there until deleted
    expect((await hub("/api/images/bobos/1/x86_64/default", { method: "DELETE", headers: auth }, { HUB_IMAGES_ALLOW_DELETES: "true" })).status).toBe(404);
  });
});

describe("overwrite and delete settings (docker-simplestreams-server's meaning)", () => {
  const base = `ow/1/amd64/default/${V}`;
  const meta = bytesOf("ow meta", 100);
  const first = bytesOf("first root", 1000);
  const second = bytesOf("second root", 2000);

  it("without overwrites a re-upload is kept under a numbered name", async () => {
    expect((await upload(tokens.alice!, `${base}/lxd.tar.xz`, meta)).status).toBe(200);
    expect((await upload(tokens.alice!, `${base}/rootfs.squashfs`, first)).status).toBe(200);
    const again = await upload(tokens.alice!, `${base}/rootfs.squashfs`, second);
    expect(again.status).toBe(200);
    expect(again.body.payload.name).toBe("rootfs-1.squashfs");
    // The index pairs the metadata with the newest copy only (one fingerprint per root type); both stay stored.
    let items = (await imagesJson()).products["ow:1:amd64:default"].versions[V].items;
    expect(items["rootfs.squashfs"]).toBeUndefined();
    expect(items["rootfs-1.squashfs"]).toMatchObject({ ftype: "squashfs", sha256: await sha256Hex(second) });
    expect(items["lxd.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(meta, second));
    expect((await hub(`/images/${base}/rootfs.squashfs`)).status).toBe(200);
    expect((await upload(tokens.alice!, `${base}/rootfs.squashfs`, first)).body.payload.name).toBe("rootfs-2.squashfs");
    items = (await imagesJson()).products["ow:1:amd64:default"].versions[V].items;
    expect(Object.keys(items).sort()).toEqual(["lxd.tar.xz", "rootfs-2.squashfs"]);
    expect(items["lxd.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(meta, first));
    const listed = (await (await hub("/api/images?repository=alice")).json()) as any;
    const ow = listed.payload.find((p: any) => p.product === "ow:1:amd64:default");
    expect(ow.versions[0].items.map((i: any) => i.name).sort()).toEqual(["lxd.tar.xz", "rootfs-1.squashfs", "rootfs-2.squashfs", "rootfs.squashfs"]);
  });

  it("overwrites without deletes: 405 Deletion not permitted, nothing changed", async () => {
    const before = await hub("/streams/v1/images.json").then((r) => r.text());
    const res = await upload(tokens.alice!, `${base}/rootfs.squashfs`, second, { HUB_IMAGES_ALLOW_OVERWRITES: "true" });
    expect(res.status).toBe(405);
    expect(res.body.message).toBe("Deletion not permitted");
    expect(await hub("/streams/v1/images.json").then((r) => r.text())).toBe(before);
  });

  it("overwrites with deletes: the file is replaced and the combined hashes follow", async () => {
    const settings = { HUB_IMAGES_ALLOW_OVERWRITES: "true", HUB_IMAGES_ALLOW_DELETES: "true" };
    const res = await upload(tokens.alice!, `${base}/rootfs.squashfs`, second, settings);
    expect(res.status).toBe(200);
    expect(res.body.payload.name).toBe("rootfs.squashfs");
    const newMeta = bytesOf("ow meta 2", 150);
    expect((await upload(tokens.alice!, `${base}/lxd.tar.xz`, newMeta, settings)).status).toBe(200);
    const items = (await imagesJson()).products["ow:1:amd64:default"].versions[V].items;
    expect(items["lxd.tar.xz"].sha256).toBe(await sha256Hex(newMeta));
    // rootfs-2.squashfs is still the newest copy: the replaced metadata is paired with it.
    expect(items["lxd.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(newMeta, first));
    const listed = (await (await hub("/api/images?repository=alice")).json()) as any;
    const ow = listed.payload.find((p: any) => p.product === "ow:1:amd64:default");
    const replaced = ow.versions[0].items.find((i: any) => i.name === "rootfs.squashfs");
    expect(replaced.sha256).toBe(await sha256Hex(second));
    const served = await hub(`/images/${base}/rootfs.squashfs`);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(second);
  });

  it("deletes: a product goes with every file", async () => {
    const auth = { Authorization: `bearer ${tokens.alice}` };
    expect((await hub("/api/images/ow/1/amd64/default", { method: "DELETE", headers: auth })).status).toBe(405);
    const res = await hub("/api/images/ow/1/amd64/default", { method: "DELETE", headers: auth }, { HUB_IMAGES_ALLOW_DELETES: "true" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).payload.deleted).toBe(4);
    expect((await imagesJson()).products["ow:1:amd64:default"]).toBeUndefined();
    expect((await hub("/api/images?repository=alice").then((r) => r.json()) as any).payload.map((p: any) => p.product)).not.toContain(
      "ow:1:amd64:default",
    );
  });
});
