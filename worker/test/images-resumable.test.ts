/**
 * Resumable uploads of image files (worker/src/images/resumable.ts): parts in order only, each of the announced
 * size; completing gives the same item and combined fingerprints as a streamed upload (recomputed here with
 * WebCrypto), including a metadata file that arrived while the upload was in progress; sessions are private to
 * their repository and can be aborted.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import { SEED, migrate, now } from "./auth-support";
import { bytesOf, env, hub, sha256Hex } from "./images-support";

const V = "20260401_09:00";
const MiB = 1024 * 1024;
const tokens: Record<string, string> = {};
const meta = bytesOf("resumable meta", 500);
const incus = bytesOf("incus meta", 600);
const root = bytesOf("resumable root", 5 * MiB + 1234);

const auth = (user: string, extra: Record<string, string> = {}) => ({ Authorization: `bearer ${tokens[user]}`, ...extra });

async function put(path: string, body: Uint8Array<ArrayBuffer>, user = "ru") {
  return hub(path, { method: "PUT", headers: auth(user, { "Content-Length": String(body.length) }), body });
}

async function create(file: string, size: number, user = "ru"): Promise<{ status: number; body: any }> {
  const res = await hub("/api/images/uploads", {
    method: "POST",
    headers: auth(user, { "Content-Type": "application/json" }),
    body: JSON.stringify({ os: "big", release: "1", arch: "amd64", version: V, file, size, partSize: 5 * MiB }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  await migrate();
  tokens.ru = await signToken(SEED, "ru", now() - 5);
  tokens.other = await signToken(SEED, "other", now() - 5);
  expect((await put(`/api/images/big/1/amd64/default/${V}/lxd.tar.xz`, meta)).status).toBe(200);
});

describe("resumable image uploads", () => {
  it("takes the parts in order and completes with the fingerprints computed while streaming", async () => {
    const created = await create("rootfs.squashfs", root.length);
    expect(created.status).toBe(201);
    const { id, parts, partSize } = created.body.payload;
    expect([parts, partSize]).toEqual([2, 5 * MiB]);
    const first = root.subarray(0, 5 * MiB);
    const second = root.subarray(5 * MiB);
    expect((await put(`/api/images/uploads/${id}/2`, second)).status).toBe(409); // out of order
    expect((await put(`/api/images/uploads/${id}/1`, second)).status).toBe(400); // wrong size
    expect((await put(`/api/images/uploads/${id}/1`, first, "other")).status).toBe(404); // not its session
    expect((await put(`/api/images/uploads/${id}/1`, first)).status).toBe(200);
    expect((await hub(`/api/images/uploads/${id}/complete`, { method: "POST", headers: auth("ru") })).status).toBe(409);
    // A metadata file arriving meanwhile is paired at completion.
    expect((await put(`/api/images/big/1/amd64/default/${V}/incus.tar.xz`, incus)).status).toBe(200);
    expect((await put(`/api/images/uploads/${id}/2`, second)).status).toBe(200);
    const done = await hub(`/api/images/uploads/${id}/complete`, { method: "POST", headers: auth("ru") });
    expect(done.status, await done.clone().text()).toBe(200);
    expect(((await done.json()) as any).payload).toMatchObject({ name: "rootfs.squashfs", sha256: await sha256Hex(root), size: root.length });

    const doc = (await (await hub("/streams/v1/images.json")).json()) as any;
    const items = doc.products["big:1:amd64:default"].versions[V].items;
    expect(items["lxd.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(meta, root));
    expect(items["incus.tar.xz"].combined_squashfs_sha256).toBe(await sha256Hex(incus, root));
    const served = await hub(`/images/big/1/amd64/default/${V}/rootfs.squashfs`);
    expect(await sha256Hex(new Uint8Array(await served.arrayBuffer()))).toBe(await sha256Hex(root));
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM image_uploads").first<{ n: number }>()).toEqual({ n: 0 });
  });

  it("a session can be aborted; other repositories cannot start one on this image", async () => {
    const created = await create("disk.qcow2", 6 * MiB);
    expect(created.status).toBe(201);
    const id = created.body.payload.id;
    expect((await hub(`/api/images/uploads/${id}`, { method: "DELETE", headers: auth("other") })).status).toBe(404);
    expect((await hub(`/api/images/uploads/${id}`, { method: "DELETE", headers: auth("ru") })).status).toBe(200);
    expect((await put(`/api/images/uploads/${id}/1`, bytesOf("x", 5 * MiB))).status).toBe(404);
    expect((await create("disk.qcow2", 6 * MiB, "other")).status).toBe(403);
    expect((await create("evil.sh", 6 * MiB)).status).toBe(400);
  });

  it("parts fit in one request to this hub (HUB_REQUEST_MAX_BYTES): larger ones refused, the default shrinks to fit", async () => {
    const limited = { HUB_REQUEST_MAX_BYTES: String(6 * MiB) };
    const start = (partSize?: number) =>
      hub(
        "/api/images/uploads",
        {
          method: "POST",
          headers: auth("ru", { "Content-Type": "application/json" }),
          body: JSON.stringify({ os: "big", release: "1", arch: "amd64", version: V, file: "disk.qcow2", size: 20 * MiB, partSize }),
        },
        limited,
      );
    const tooBig = await start(8 * MiB);
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { message: string }).message).toBe(`partSize larger than ${6 * MiB} bytes, the largest one request to this hub may carry`);
    const fitted = await start();
    expect(fitted.status).toBe(201);
    expect(((await fitted.json()) as { payload: { partSize: number; parts: number } }).payload).toMatchObject({ partSize: 6 * MiB, parts: 4 });
  });
});
