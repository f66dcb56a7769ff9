/**
 * converter/Dockerfile built and run daemonlessly with buildah (docs/converter-image.md):
 * `buildConverterImage()` = `buildah build --isolation chroot --layers --build-arg BASE=<base>`, where the base
 * is the official Node image in production and node-base.ts's image here; `openConverterImage()` gives a working
 * container of the image and the command that runs the image's own CMD in it with a given environment.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../converter-bundle.ts";
import { type ImageFacts, type Log, buildah, imageFacts } from "./buildah.ts";
import { ensureNodeBase } from "./node-base.ts";

export const CONVERTER_IMAGE = "localhost/zos-hub/converter:dev";

export interface BuildOptions {
  /** Base image (default: node-base.ts's, built first when missing). */
  base?: string;
  tag?: string;
  /** Build every step again (no cached layers). */
  noCache?: boolean;
  log?: Log;
}

export interface BuiltImage extends ImageFacts {
  image: string;
  base: string;
  /** Whether the base had to be built (debootstrap) in this call. */
  baseBuilt: boolean;
  seconds: number;
}

export async function buildConverterImage(options: BuildOptions = {}): Promise<BuiltImage> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const { image: base, built: baseBuilt } = options.base ? { image: options.base, built: false } : await ensureNodeBase({ log });
  const image = options.tag ?? CONVERTER_IMAGE;
  // --layers: each step's result is cached, so a rebuild after a source change only bundles again; --pull=false:
  // the base is local, there is no registry to ask.
  // prettier-ignore
  await buildah([
    "build", "--isolation", "chroot", "--layers", "--pull=false",
    ...(options.noCache ? ["--no-cache"] : []),
    "--build-arg", `BASE=${base}`,
    ...(buildCa() ? ["--secret", `id=build-ca,src=${buildCa()}`] : []),
    "-f", path.join(ROOT, "converter/Dockerfile"),
    "--ignorefile", path.join(ROOT, "converter/Dockerfile.dockerignore"),
    "-t", image,
    ROOT,
  ], { log, echo: true });
  return { image, base, baseBuilt, seconds: (Date.now() - started) / 1000, ...(await imageFacts(image)) };
}

let ca: { file: string | undefined } | undefined;

/**
 * The CA bundle this machine's npm trusts beyond Node's own roots (NODE_EXTRA_CA_CERTS, else npm's `cafile`),
 * e.g. that of a proxy in front of the npm registry: the image's `npm ci` needs it too (converter/Dockerfile's
 * `build-ca` secret). None on a machine that reaches the registry directly.
 */
function buildCa(): string | undefined {
  if (!ca) {
    let file = process.env.NODE_EXTRA_CA_CERTS;
    if (!file) {
      try {
        file = execFileSync("npm", ["config", "get", "cafile"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      } catch {
        file = undefined;
      }
    }
    ca = { file: file && file !== "null" && fs.existsSync(file) ? file : undefined };
  }
  return ca.file;
}

export interface ConverterImage {
  image: string;
  /** The command running the image's CMD (`node main.mjs`) with exactly `env` (plus the image's own ENV). */
  command(env: Record<string, string>): [string, string[]];
  /** Removes the working container and the environment files. */
  remove(): Promise<void>;
}

/** Where the environment file is mounted inside the container. */
const ENV_DIR = "/run/zhub-env";

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * A working container of `image` (`buildah from`), kept for every start of the converter. `buildah run` passes
 * no environment of its own but `--env` flags, which would show secrets in the process list: the variables go
 * into a file (mode 0600) mounted read-only, which a shell exports before it execs the image's command.
 * The container shares the host's network (chroot isolation), so `HUB_URL` and the chunk store may be 127.0.0.1.
 */
export async function openConverterImage(image = CONVERTER_IMAGE): Promise<ConverterImage> {
  const facts = await imageFacts(image);
  if (facts.cmd.length === 0) throw new Error(`${image} has no CMD`);
  const name = `zhub-converter-${crypto.randomBytes(4).toString("hex")}`;
  await buildah(["from", "--pull=false", "--name", name, image]);
  // The image's user (node) must read the file, nobody else on the host.
  const [uid, gid] = (await buildah(["run", "--isolation", "chroot", name, "--", "/bin/sh", "-c", "id -u && id -g"])).trim().split("\n").map(Number);
  const dirs: string[] = [];
  return {
    image,
    command(env) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-image-env-"));
      dirs.push(dir);
      const lines = Object.entries(env).map(([key, value]) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`not an environment variable name: ${key}`);
        return `${key}=${shellQuote(value)}`;
      });
      fs.writeFileSync(path.join(dir, "env"), `${lines.join("\n")}\n`, { mode: 0o600 });
      fs.chownSync(path.join(dir, "env"), uid!, gid!);
      fs.chownSync(dir, uid!, gid!);
      // prettier-ignore
      return ["buildah", [
        "run", "--isolation", "chroot", "--volume", `${dir}:${ENV_DIR}:ro`, name, "--",
        "/bin/sh", "-c", `set -a && . ${ENV_DIR}/env && set +a && exec "$@"`, "sh", ...facts.cmd,
      ]];
    },
    async remove() {
      await buildah(["rm", name]).catch(() => undefined);
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
