/**
 * HUB_IMAGES_ALLOW_OVERWRITES and HUB_IMAGES_ALLOW_DELETES on (lxd.test.ts covers them off), seen through the real
 * `lxc` client over HTTPS: a re-upload replaces the file in place (lxc lists the new fingerprint, the path serves
 * the new bytes), deleting a version or a product removes it from lxc's listing.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltImage, Lxc, buildImage, curl, curlUpload, sha256Files } from "./support/lxd.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { type TestCert, makeTestCert } from "./support/tls.ts";

const V1 = "20260301_10:30";
const V2 = "20260302_08:00";
let cert: TestCert;
let stack: Stack;
let work: string;
let image: BuiltImage;
let changed: BuiltImage;
let token: string;
const lxcs: Lxc[] = [];

async function listHub() {
  const lxc = new Lxc(cert.certPath);
  lxcs.push(lxc);
  await lxc.run("remote", "add", "hub", stack.hubUrl, "--protocol=simplestreams", "--public");
  return lxc.images("hub");
}

const upload = (file: string, name: string) => curlUpload(stack.hubUrl, cert.certPath, token, file, name);
const remove = (url: string) => curl(`${stack.hubUrl}${url}`, cert.certPath, ["-X", "DELETE", "-H", `Authorization: bearer ${token}`]);

beforeAll(async () => {
  cert = makeTestCert();
  const stackReady = startStack({
    tls: { keyPath: cert.keyPath, certPath: cert.certPath },
    workerVars: { HUB_IMAGES_ALLOW_OVERWRITES: "true", HUB_IMAGES_ALLOW_DELETES: "true" },
  });
  stackReady.then((s) => (stack = s)).catch(() => undefined);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-lxd-"));
  image = await buildImage(work, "setos", { "etc/hostname": "one\n" }, "first");
  changed = await buildImage(work, "setos2", { "etc/hostname": "two\n", "etc/motd": "hello\n" }, "second");
  stack = await stackReady;
  token = await stack.token("settings-user");
  for (const v of [V1, V2]) {
    for (const [file, name] of [
      [image.meta, "lxd.tar.xz"],
      [image.squashfs, "rootfs.squashfs"],
    ] as const) {
      const res = await upload(file, `setos/1/amd64/default/${v}/${name}`);
      expect(res.status, res.body).toBe(200);
    }
  }
});

afterAll(async () => {
  await stack?.stop();
  for (const lxc of lxcs) lxc.remove();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  cert?.remove();
});

describe("overwrites and deletes allowed", () => {
  it("a re-upload replaces the file: lxc lists the new fingerprint, the path serves the new bytes", async () => {
    // Two versions of the same bytes: one fingerprint, listed for each version.
    const first = sha256Files(image.meta, image.squashfs);
    expect((await listHub()).map((i) => i.fingerprint)).toEqual([first, first]);
    const res = await upload(changed.squashfs, `setos/1/amd64/default/${V2}/rootfs.squashfs`);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).payload.name).toBe("rootfs.squashfs");
    const fingerprints = (await listHub()).map((i) => i.fingerprint).sort();
    expect(fingerprints).toEqual([sha256Files(image.meta, image.squashfs), sha256Files(image.meta, changed.squashfs)].sort());
    const out = path.join(work, "served");
    expect((await curl(`${stack.hubUrl}/images/setos/1/amd64/default/${V2}/rootfs.squashfs`, cert.certPath, ["-o", out])).status).toBe(200);
    expect(sha256Files(out)).toBe(sha256Files(changed.squashfs));
  });

  it("deleting a version, then the product, removes them from lxc's listing", async () => {
    const version = await remove(`/api/images/setos/1/amd64/default/${encodeURIComponent(V2)}`);
    expect(version.status, version.body).toBe(200);
    expect((await listHub()).map((i) => i.fingerprint)).toEqual([sha256Files(image.meta, image.squashfs)]);
    expect((await curl(`${stack.hubUrl}/images/setos/1/amd64/default/${V2}/rootfs.squashfs`, cert.certPath)).status).toBe(404);
    const product = await remove("/api/images/setos/1/amd64/default");
    expect(product.status, product.body).toBe(200);
    expect(JSON.parse(product.body).payload.deleted).toBe(2);
    expect(await listHub()).toEqual([]);
  });
});
