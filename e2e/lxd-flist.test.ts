/**
 * Every flist as an LXD image, end to end over HTTPS: a directory is published as a flist (tarball
 * upload), `POST /api/flist/me/<name>/lxd` has the converter read its tree back from the chunk store into
 * rootfs.squashfs + lxd.tar.xz, the real `lxc` lists it under the alias `<repo>/<flist-name>` with the fingerprint
 * of the files the hub serves, and `unsquashfs` of the served squashfs gives the flist's exact tree.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeDisk } from "../converter/test/support/disk.ts";
import { Lxc, curl, sha256Files } from "./support/lxd.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { type TestCert, makeTestCert } from "./support/tls.ts";

const USER = "lxdflist";
const REQUEST_MAX_BYTES = 6 * 1024 * 1024;
let cert: TestCert;
let stack: Stack;
let work: string;
let src: string;
let auth: string[];


beforeAll(async () => {
  cert = makeTestCert();
  // At most 6 MiB per request (as Cloudflare's plans cap request bodies): the converter must send the image's
  // rootfs, larger than that, in parts.
  const stackReady = startStack({
    tls: { keyPath: cert.keyPath, certPath: cert.certPath },
    workerVars: { HUB_REQUEST_MAX_BYTES: String(REQUEST_MAX_BYTES) },
  });
  stackReady.then((s) => (stack = s)).catch(() => undefined);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-lxd-flist-"));
  src = path.join(work, "src");
  fs.mkdirSync(path.join(src, "etc"), { recursive: true });
  fs.mkdirSync(path.join(src, "opt/app"), { recursive: true });
  fs.writeFileSync(path.join(src, "etc/hostname"), "from-a-flist\n");
  fs.writeFileSync(path.join(src, ".README.md"), "# App from a flist\n\nDetails.\n");
  const big = Buffer.alloc(1_100_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 253;
  fs.writeFileSync(path.join(src, "opt/app/blob"), big);
  fs.chmodSync(path.join(src, "opt/app/blob"), 0o750);
  fs.symlinkSync("../etc/hostname", path.join(src, "opt/hostname"));
  fs.writeFileSync(path.join(src, "opt/app/data.bin"), randomBytes(REQUEST_MAX_BYTES + 1024 * 1024)); // incompressible
  for (const p of ["etc/hostname", "opt/app/blob", "opt/app/data.bin", "opt/app", "etc", "opt", ".README.md"]) fs.utimesSync(path.join(src, p), 1_650_000_000, 1_650_000_000);
  execFileSync("tar", ["-czf", path.join(work, "app.tar.gz"), "-C", src, "."]);
  stack = await stackReady;
  auth = ["-H", `Authorization: bearer ${await stack.token(USER)}`];
  const up = await curl(`${stack.hubUrl}/api/flist/me/upload`, cert.certPath, [...auth, "-F", `file=@${path.join(work, "app.tar.gz")}`]);
  expect(up.status, up.body).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  cert?.remove();
});

describe("a flist converted to an LXD image", () => {
  it("is listed by lxc under <repo>/<flist-name> and its squashfs unpacks to the flist's exact tree", async () => {
    const res = await curl(`${stack.hubUrl}/api/flist/me/app.flist/lxd`, cert.certPath, [...auth, "-X", "POST"]);
    expect(res.status, res.body).toBe(200);
    const result = JSON.parse(res.body).payload as { product: string; version: string; alias: string };
    expect(result).toMatchObject({ product: `${USER}:app:amd64:default`, alias: `${USER}/app` });

    // The files the hub serves, and the fingerprint lxc shows for them.
    const doc = JSON.parse((await curl(`${stack.hubUrl}/streams/v1/images.json`, cert.certPath)).body);
    const items = doc.products[result.product].versions[result.version].items;
    const meta = path.join(work, "lxd.tar.xz");
    const rootfs = path.join(work, "rootfs.squashfs");
    for (const [item, out] of [[items["lxd.tar.xz"], meta], [items["rootfs.squashfs"], rootfs]] as const) {
      expect((await curl(`${stack.hubUrl}/${item.path}`, cert.certPath, ["-o", out])).status).toBe(200);
    }
    const lxc = new Lxc(cert.certPath);
    try {
      await lxc.run("remote", "add", "hub", stack.hubUrl, "--protocol=simplestreams", "--public");
      const listed = await lxc.images("hub");
      expect(listed).toHaveLength(1);
      expect(listed[0]!.fingerprint).toBe(sha256Files(meta, rootfs));
      expect(listed[0]!.aliases?.map((a) => a.name)).toContain(`${USER}/app`);
      const info = await lxc.run("image", "info", `hub:${USER}/app`);
      expect(info).toContain(`Fingerprint: ${sha256Files(meta, rootfs)}`);
      expect(info).toMatch(/^ {4}os: lxdflist$/m);
    } finally {
      lxc.remove();
    }

    // Incus reads the same metadata as incus.tar.xz, with its own fingerprint field.
    expect(items["incus.tar.xz"]).toMatchObject({ sha256: sha256Files(meta), combined_squashfs_sha256: sha256Files(meta, rootfs) });
    const yaml = execFileSync("tar", ["-xJOf", meta, "metadata.yaml"], { encoding: "utf8" });
    expect(yaml).toContain('description: "App from a flist"');
    expect(yaml).toContain("templates: {}");
    const unpacked = path.join(work, "unpacked");
    // Larger than one request to this hub may carry: the converter sent it in parts.
    expect(fs.statSync(rootfs).size).toBeGreaterThan(REQUEST_MAX_BYTES);
    expect(stack.logs()).toMatch(/rootfs\.squashfs \(\d+ bytes\) sent in 2 parts: the hub takes at most 6291456 bytes per request/);
    execFileSync("unsquashfs", ["-no-progress", "-d", unpacked, rootfs], { stdio: "pipe" });
    // The tarball's tree, as the flist recorded it (the upload keeps modes, owners, mtimes and link targets).
    expect(describeDisk(unpacked)).toEqual(describeDisk(src));
  });

  it("fails like other jobs when the chunk store is down, and publishes nothing", async () => {
    const before = (await curl(`${stack.hubUrl}/streams/v1/images.json`, cert.certPath)).body;
    await stack.stopStore();
    try {
      const res = await curl(`${stack.hubUrl}/api/flist/me/app.flist/lxd`, cert.certPath, [...auth, "-X", "POST"]);
      expect(res.status, res.body).toBe(503);
      expect(JSON.parse(res.body).message).toMatch(/chunk store/);
      const jobs = JSON.parse((await curl(`${stack.hubUrl}/api/jobs`, cert.certPath, auth)).body).payload.jobs as { kind: string; status: string; message: string }[];
      expect(jobs.find((j) => j.kind === "lxd" && j.status === "failed")?.message).toMatch(/chunk store/);
      expect((await curl(`${stack.hubUrl}/streams/v1/images.json`, cert.certPath)).body).toBe(before);
    } finally {
      await stack.startStore();
    }
  });

  it("refuses an unknown flist and callers without a token", async () => {
    expect((await curl(`${stack.hubUrl}/api/flist/me/nothing.flist/lxd`, cert.certPath, [...auth, "-X", "POST"])).status).toBe(404);
    expect((await curl(`${stack.hubUrl}/api/flist/me/app.flist/lxd`, cert.certPath, ["-X", "POST"])).status).toBe(401);
  });
});
