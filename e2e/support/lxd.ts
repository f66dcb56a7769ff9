/**
 * Helpers of the LXD/Incus e2e tests: small real images built with Debian's squashfs-tools and tar/xz, uploads
 * with curl as docker-simplestreams-server documents them, and the real `lxc` client (Debian lxd-client) run with
 * its own LXD_CONF and trusting the test certificate through SSL_CERT_FILE (Go honours it on Linux).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface BuiltImage {
  dir: string;
  meta: string;
  squashfs: string;
  rootxz: string;
}

/** A tiny rootfs with `files` (path → content), its `rootfs.squashfs`, `root.tar.xz` and `lxd.tar.xz` (metadata.yaml). */
export async function buildImage(
  parent: string,
  name: string,
  files: Record<string, string>,
  description: string,
): Promise<BuiltImage> {
  const dir = path.join(parent, name);
  const rootfs = path.join(dir, "rootfs");
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(rootfs, file)), { recursive: true });
    fs.writeFileSync(path.join(rootfs, file), content);
  }
  const metaDir = path.join(dir, "meta");
  fs.mkdirSync(metaDir, { recursive: true });
  fs.writeFileSync(
    path.join(metaDir, "metadata.yaml"),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: ${JSON.stringify(description)}\n  os: ${name}\ntemplates: {}\n`,
  );
  const meta = path.join(dir, "lxd.tar.xz");
  const squashfs = path.join(dir, "rootfs.squashfs");
  const rootxz = path.join(dir, "root.tar.xz");
  await run("tar", ["-cJf", meta, "-C", metaDir, "metadata.yaml"]);
  await run("mksquashfs", [rootfs, squashfs, "-noappend", "-no-progress", "-quiet", "-all-root"]);
  await run("tar", ["-cJf", rootxz, "--numeric-owner", "-C", rootfs, "."]);
  return { dir, meta, squashfs, rootxz };
}

export function sha256Files(...files: string[]): string {
  const hash = createHash("sha256");
  for (const f of files) hash.update(fs.readFileSync(f));
  return hash.digest("hex");
}

/** `curl -F upload=@<file>;filename=<name> <hub>/images/` with an optional token: the HTTP status and the body. */
export async function curlUpload(
  hubUrl: string,
  certPath: string,
  token: string | null,
  file: string,
  name: string,
): Promise<{ status: number; body: string }> {
  const args = ["-sS", "--cacert", certPath, "-o", "-", "-w", "\n%{http_code}", "-F", `upload=@${file};filename=${name}`];
  if (token) args.push("-H", `Authorization: bearer ${token}`);
  const { stdout } = await run("curl", [...args, `${hubUrl}/images/`], { maxBuffer: 1 << 20 });
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** curl with the test certificate trusted: any method, the status and the body. */
export async function curl(url: string, certPath: string, extra: string[] = []): Promise<{ status: number; body: string }> {
  const output = extra.includes("-o") ? [] : ["-o", "-"];
  const { stdout } = await run("curl", ["-sS", "--cacert", certPath, ...output, "-w", "\n%{http_code}", ...extra, url], {
    maxBuffer: 16 << 20,
  });
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** The lxc client with a configuration directory of its own (no daemon: only the simplestreams remote is used). */
export class Lxc {
  readonly conf: string;
  constructor(private readonly certPath: string) {
    this.conf = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-lxc-"));
  }

  async run(...args: string[]): Promise<string> {
    const env = { PATH: process.env.PATH, HOME: this.conf, LXD_CONF: this.conf, SSL_CERT_FILE: this.certPath };
    try {
      const { stdout } = await run("lxc", args, { env, maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`lxc ${args.join(" ")}: ${e.stderr ?? e.message}`);
    }
  }

  /** `lxc image list <remote>: --format json`, parsed. */
  async images(remote: string): Promise<LxcImage[]> {
    return JSON.parse(await this.run("image", "list", `${remote}:`, "--format", "json")) as LxcImage[];
  }

  remove(): void {
    fs.rmSync(this.conf, { recursive: true, force: true });
  }
}

export interface LxcImage {
  fingerprint: string;
  type: string;
  architecture: string;
  size: number;
  aliases: { name: string }[] | null;
  properties: Record<string, string>;
}
