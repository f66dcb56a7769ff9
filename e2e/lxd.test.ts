/**
 * The LXD/Incus image server end to end with the real `lxc` client (Debian lxd-client) against the local
 * stack served over HTTPS with a throw-away certificate that only the test's processes trust (SSL_CERT_FILE for
 * lxc, --cacert for curl) and that is removed afterwards. Images are built here (mksquashfs, tar -J) and uploaded
 * with curl as docker-simplestreams-server documents it; the fingerprints lxc shows are checked against
 * sha256(metadata ‖ root) of the local files and of the files downloaded back from the item paths.
 * Default settings: HUB_IMAGES_ALLOW_OVERWRITES and HUB_IMAGES_ALLOW_DELETES off (lxd-settings.test.ts: on).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltImage, Lxc, buildImage, curl, curlUpload, sha256Files } from "./support/lxd.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { type TestCert, makeTestCert } from "./support/tls.ts";

const V = "20260301_10:30";
const BASE = `e2eos/1/amd64/default/${V}`;
const VM = `e2evm/1/amd64/default/${V}`;

let cert: TestCert;
let stack: Stack;
let work: string;
let image: BuiltImage;
let changed: BuiltImage;
let disk: string;
let token: string;
const lxcs: Lxc[] = [];

/** A new lxc configuration each time: lxc caches the index on disk, a fresh one sees the hub as it is now. */
async function listHub(): Promise<Awaited<ReturnType<Lxc["images"]>>> {
  const lxc = new Lxc(cert.certPath);
  lxcs.push(lxc);
  await lxc.run("remote", "add", "hub", stack.hubUrl, "--protocol=simplestreams", "--public");
  return lxc.images("hub");
}

async function upload(file: string, name: string, with_token: string | null = token) {
  return curlUpload(stack.hubUrl, cert.certPath, with_token, file, name);
}

beforeAll(async () => {
  cert = makeTestCert();
  const stackReady = startStack({ tls: { keyPath: cert.keyPath, certPath: cert.certPath } });
  stackReady.then((s) => (stack = s)).catch(() => undefined);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-lxd-"));
  image = await buildImage(work, "e2eos", { "etc/hostname": "e2e\n", "usr/bin/hello": "#!/bin/sh\necho hi\n" }, "zos-hub e2e");
  changed = await buildImage(work, "e2eos2", { "etc/hostname": "changed\n" }, "zos-hub e2e changed");
  disk = path.join(work, "disk.qcow2");
  fs.writeFileSync(disk, Buffer.concat([Buffer.from("QFI\xfb"), Buffer.alloc(64 * 1024, 7)]));
  stack = await stackReady;
  token = await stack.token("lxd-user");
});

afterAll(async () => {
  await stack?.stop();
  for (const lxc of lxcs) lxc.remove();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  cert?.remove();
  expect(fs.existsSync(cert.dir)).toBe(false);
});

describe("lxc against the hub", () => {
  it("uploads without a valid token are refused and publish nothing", async () => {
    const none = await upload(image.meta, `${BASE}/lxd.tar.xz`, null);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({ status: "error", message: "no authorization provided" });
    const forged = await upload(image.meta, `${BASE}/lxd.tar.xz`, `${token.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect(await listHub()).toEqual([]);
  });

  it("lists each uploaded image with the fingerprint LXD computes (squashfs, root.tar.xz, VM disk)", async () => {
    for (const [file, name] of [
      [image.meta, `${BASE}/lxd.tar.xz`],
      [image.squashfs, `${BASE}/rootfs.squashfs`],
      [image.rootxz, `${BASE}/root.tar.xz`],
      [image.meta, `${VM}/lxd.tar.xz`],
      [disk, `${VM}/disk.qcow2`],
    ] as const) {
      const res = await upload(file, name);
      expect(res.status, res.body).toBe(200);
    }
    const listed = await listHub();
    const byFingerprint = new Map(listed.map((i) => [i.fingerprint, i]));
    expect(listed).toHaveLength(3);
    const squash = byFingerprint.get(sha256Files(image.meta, image.squashfs));
    const rootxz = byFingerprint.get(sha256Files(image.meta, image.rootxz));
    const vm = byFingerprint.get(sha256Files(image.meta, disk));
    expect(squash).toMatchObject({ type: "container", architecture: "x86_64", properties: { type: "squashfs", os: "e2eos" } });
    expect(rootxz).toMatchObject({ type: "container", properties: { type: "root.tar.xz" } });
    expect(vm).toMatchObject({ type: "virtual-machine", properties: { type: "disk-kvm.img", os: "e2evm" } });
    expect(squash!.size).toBe(fs.statSync(image.meta).size + fs.statSync(image.squashfs).size);
    expect(squash!.aliases?.map((a) => a.name)).toEqual(expect.arrayContaining(["e2eos/1", "e2eos/1/default", "e2eos/1/amd64"]));
  });

  it("the files at the item paths hash to the fingerprint (what LXD verifies after downloading)", async () => {
    const doc = JSON.parse((await curl(`${stack.hubUrl}/streams/v1/images.json`, cert.certPath)).body);
    const items = doc.products["e2eos:1:amd64:default"].versions[V].items;
    const hash = createHash("sha256");
    for (const item of [items["lxd.tar.xz"], items["rootfs.squashfs"]]) {
      const out = path.join(work, "download");
      const res = await curl(`${stack.hubUrl}/${item.path}`, cert.certPath, ["-o", out]);
      expect(res.status).toBe(200);
      hash.update(fs.readFileSync(out));
    }
    expect(hash.digest("hex")).toBe(items["lxd.tar.xz"].combined_squashfs_sha256);
    expect(items["lxd.tar.xz"].combined_squashfs_sha256).toBe(sha256Files(image.meta, image.squashfs));
  });

  it("lxc image info shows the properties; metadata.json overrides os, release_title and aliases", async () => {
    const override = path.join(work, "metadata.json");
    fs.writeFileSync(override, JSON.stringify({ os: "E2EOS", release_title: "One", aliases: ["e2e-alias", "e2e/latest"] }));
    expect((await upload(override, `${BASE}/metadata.json`)).status).toBe(200);
    const lxc = new Lxc(cert.certPath);
    lxcs.push(lxc);
    await lxc.run("remote", "add", "hub", stack.hubUrl, "--protocol=simplestreams", "--public");
    const info = await lxc.run("image", "info", "hub:e2e-alias");
    // e2e-alias resolves to one of the version's two container images (the squashfs or the root.tar.xz one).
    const fingerprint = /^Fingerprint: ([0-9a-f]{64})$/m.exec(info)?.[1];
    expect([sha256Files(image.meta, image.squashfs), sha256Files(image.meta, image.rootxz)]).toContain(fingerprint);
    expect(info).toMatch(/^ {4}os: E2EOS$/m);
    expect(info).toMatch(/^ {4}release: 1$/m);
    expect(info).toMatch(/^ {4}description: E2EOS One amd64 \(20260301_10:30\)$/m);
    expect(info).toMatch(/^ {4}variant: default$/m);
    expect(info).toMatch(/^ {4}- e2e\/latest$/m);
    const byShort = await lxc.run("image", "info", `hub:${fingerprint!.slice(0, 12)}`);
    expect(byShort).toContain(`Fingerprint: ${fingerprint}`);
  });

  it("without HUB_IMAGES_ALLOW_OVERWRITES a re-upload is kept as rootfs-1.squashfs and becomes the listed image", async () => {
    const res = await upload(changed.squashfs, `${BASE}/rootfs.squashfs`);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).payload.name).toBe("rootfs-1.squashfs");
    const fingerprints = (await listHub()).map((i) => i.fingerprint);
    expect(fingerprints).toContain(sha256Files(image.meta, changed.squashfs));
    expect(fingerprints).not.toContain(sha256Files(image.meta, image.squashfs));
    // The first upload is kept, byte for byte.
    const first = await curl(`${stack.hubUrl}/images/${BASE}/rootfs.squashfs`, cert.certPath, ["-o", path.join(work, "first")]);
    expect(first.status).toBe(200);
    expect(sha256Files(path.join(work, "first"))).toBe(sha256Files(image.squashfs));
  });

  it("without HUB_IMAGES_ALLOW_DELETES deleting a version or a product is refused and lxc still lists it", async () => {
    const auth = ["-H", `Authorization: bearer ${token}`, "-X", "DELETE"];
    for (const url of [`/api/images/e2eos/1/amd64/default/${encodeURIComponent(V)}`, "/api/images/e2eos/1/amd64/default"]) {
      const res = await curl(`${stack.hubUrl}${url}`, cert.certPath, auth);
      expect(res.status).toBe(405);
      expect(JSON.parse(res.body).message).toBe("Deletion not permitted");
    }
    expect(await listHub()).toHaveLength(3);
  });

  it("another user cannot change the images of this one", async () => {
    const other = await stack.token("someone-else");
    const res = await upload(changed.squashfs, `${BASE}/rootfs.squashfs`, other);
    expect(res.status).toBe(403);
    expect(await listHub()).toHaveLength(3);
  });
});
