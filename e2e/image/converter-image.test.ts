/**
 * converter/Dockerfile, built here as production builds it but daemonlessly (buildah, chroot isolation) on a Node
 * 20 base made from Debian packages (scripts/lib/image/), then run from the image (`buildah run`, the image's own
 * CMD and user) against the real local Worker: tar uploads, a docker conversion and an LXD image complete and
 * publish (support/converter-checks.ts). The first build takes minutes (debootstrap, g++, compiling
 * better-sqlite3); later ones reuse buildah's cached layers.
 */
import { expect } from "vitest";
import { buildConverterImage, openConverterImage } from "../../scripts/lib/image/converter-image.ts";
import { converterChecks } from "../support/converter-checks.ts";

const VERBOSE = process.env.E2E_VERBOSE === "1";

converterChecks(
  "the converter image, run with buildah",
  async () => {
    const built = await buildConverterImage({ tag: "localhost/zos-hub/converter:test", log: VERBOSE ? (l) => process.stderr.write(`[image] ${l}\n`) : undefined });
    // The image runs the compiled bundle, not TypeScript.
    expect(built.cmd).toEqual(["node", "main.mjs"]);
    console.log(`converter image ${built.image}: ${(built.bytes / 1e6).toFixed(1)} MB, built in ${built.seconds.toFixed(0)} s${built.baseBuilt ? " (base built too)" : ""}`);
    const image = await openConverterImage(built.image);
    return {
      launcher: (env) => {
        const [command, args] = image.command(env);
        return { command, args, env: process.env, group: true };
      },
      close: () => image.remove(),
    };
  },
  1_800_000,
);
