/**
 * What a converter build must do against the real local stack, whatever runs it (the compiled bundle on this
 * machine, the production image through buildah): a tar upload (form and streamed PUT), a docker conversion from
 * a local registry and an LXD image of a flist complete and publish, each result read back and compared with its
 * source. Registers a `describe` with its own stack; `start` says how the converter runs.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlist } from "../../converter/src/flist/index.ts";
import { describeDisk } from "../../converter/test/support/disk.ts";
import { buildLayeredImage, pseudoRandom } from "../../converter/test/support/images.ts";
import { OciLayout, type RunningRegistry, describeRootfs, describeTree, startRegistry } from "../../converter/test/support/registry.ts";
import { type ConverterLauncher, type Stack, startStack } from "./stack.ts";

const USER = "converter-build";

export interface ConverterUnderTest {
  launcher: ConverterLauncher;
  /** Called after the stack stopped. */
  close?: () => Promise<void>;
}

export function converterChecks(title: string, start: () => Promise<ConverterUnderTest>, setupTimeoutMs = 240_000): void {
  describe(title, () => {
    let under: ConverterUnderTest | undefined;
    let stack: Stack | undefined;
    let registry: RunningRegistry | undefined;
    let oci: OciLayout | undefined;
    let work: string;
    let src: string;
    let archive: string;
    let imageRootfs: string;

    const hub = () => stack!;
    const download = async (name: string) => {
      const res = await fetch(`${hub().hubUrl}/${USER}/${name}`);
      expect(res.status, `GET /${USER}/${name}`).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const published = async (name: string) => describeTree((await readFlist(await download(name))).root, await hub().store());

    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-converter-checks-"));
      // A tree with a multi-chunk file (the chunk worker threads) and an executable, owned by a non-root user.
      src = path.join(work, "src");
      fs.mkdirSync(path.join(src, "opt/app"), { recursive: true });
      fs.writeFileSync(path.join(src, "opt/app/data.bin"), pseudoRandom(1_300_000, 11));
      fs.writeFileSync(path.join(src, "opt/app/run.sh"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
      fs.writeFileSync(path.join(src, ".README.md"), "# Converter build check\n");
      fs.symlinkSync("app/run.sh", path.join(src, "opt/run"));
      fs.chownSync(path.join(src, "opt/app/data.bin"), 1000, 1000);
      for (const p of ["opt/app/data.bin", "opt/app/run.sh", ".README.md", "opt/app", "opt"]) fs.utimesSync(path.join(src, p), 1_650_000_000, 1_650_000_000);
      archive = path.join(work, "app.tar.gz");
      execFileSync("tar", ["-czf", archive, "-C", src, "."]);

      [registry, oci] = await Promise.all([startRegistry(), OciLayout.create()]);
      await buildLayeredImage(oci, "layers");
      await oci.push("layers", `${registry.host}/check/layers:v1`);
      imageRootfs = await oci.unpack("layers");

      under = await start();
      stack = await startStack({ converter: under.launcher, converterEnv: { HUB_INSECURE_REGISTRIES: registry.host } });
    }, setupTimeoutMs);

    afterAll(async () => {
      await stack?.stop();
      await under?.close?.();
      await Promise.all([registry?.stop(), oci?.remove()]);
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("publishes a tar upload, as a form and as a streamed PUT", async () => {
      const auth = await hub().auth(USER);
      const form = new FormData();
      form.append("file", new Blob([fs.readFileSync(archive)]), "app.tar.gz");
      const res = await fetch(`${hub().hubUrl}/api/flist/me/upload`, { method: "POST", headers: auth, body: form });
      const body = (await res.json()) as { payload?: { name: string; files: { response: Record<string, number> } } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.payload?.name).toBe("app.flist");
      expect(body.payload?.files.response).toMatchObject({ regular: 3, symlink: 1, failure: 0 });
      const expected = await describeRootfs(src);
      expect(await published("app.flist")).toEqual(expected);

      // A Buffer body: fetch sends its Content-Length, which the streamed route requires.
      const put = await fetch(`${hub().hubUrl}/api/flist/me/upload/streamed.tar.gz`, { method: "PUT", headers: auth, body: fs.readFileSync(archive) });
      expect(put.status, await put.clone().text()).toBe(200);
      expect(await published("streamed.flist")).toEqual(expected);
    });

    it("publishes a docker image pulled from a registry", async () => {
      const image = `${registry!.host}/check/layers:v1`;
      const form = new FormData();
      form.append("image", image);
      const res = await fetch(`${hub().hubUrl}/api/flist/me/docker`, { method: "POST", headers: await hub().auth(USER), body: form });
      const body = (await res.json()) as { payload?: { name: string } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const name = `127.0.0.1-${registry!.port}-check-layers-v1.flist`;
      expect(body.payload?.name).toBe(name);
      expect(await published(name)).toEqual(await describeRootfs(imageRootfs));
    });

    it("publishes a flist as an LXD image (mksquashfs and xz)", async () => {
      const res = await fetch(`${hub().hubUrl}/api/flist/me/app.flist/lxd`, { method: "POST", headers: await hub().auth(USER) });
      const body = (await res.json()) as { payload: { product: string; version: string } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const index = (await (await fetch(`${hub().hubUrl}/streams/v1/images.json`)).json()) as {
        products: Record<string, { versions: Record<string, { items: Record<string, { path: string }> }> }>;
      };
      const items = index.products[body.payload.product]!.versions[body.payload.version]!.items;
      const rootfs = path.join(work, "rootfs.squashfs");
      const meta = path.join(work, "lxd.tar.xz");
      for (const [item, out] of [[items["rootfs.squashfs"]!, rootfs], [items["lxd.tar.xz"]!, meta]] as const) {
        const file = await fetch(`${hub().hubUrl}/${item.path}`);
        expect(file.status).toBe(200);
        fs.writeFileSync(out, Buffer.from(await file.arrayBuffer()));
      }
      expect(execFileSync("tar", ["-xJOf", meta, "metadata.yaml"], { encoding: "utf8" })).toContain('description: "Converter build check"');
      const unpacked = path.join(work, "unpacked");
      execFileSync("unsquashfs", ["-no-progress", "-d", unpacked, rootfs], { stdio: "pipe" });
      expect(describeDisk(unpacked)).toEqual(describeDisk(src));
    });
  });
}
