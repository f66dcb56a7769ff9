/**
 * The chunk workers' entry module, bundled once per process from worker-impl.ts with esbuild into one plain
 * JavaScript file. Why: a worker started from worker.mjs must register tsx's loader to import TypeScript, which
 * costs each worker ~40 MB of RSS (measured on the 512 MiB benchmark tree: peak RSS of `zhub flist create`
 * 287 MB with two such workers, 238–249 MB with bundled ones) and a slower start; the bundle needs neither.
 * Packages (snappy's native addon, hash-wasm) stay outside the bundle, imported by absolute file URL, so Node
 * loads the very same ones from wherever the bundle is written (the system temporary directory).
 * If bundling is impossible (no esbuild), workers start from worker.mjs as before. The production build
 * (scripts/lib/converter-bundle.ts) bundles the worker ahead of time beside the service and names it with
 * ZHUB_CHUNK_WORKER, so the service neither needs esbuild nor writes a module at run time.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Replaced by the production build (esbuild `define`): the prebuilt worker module, relative to the bundle. */
declare const ZHUB_CHUNK_WORKER: string | undefined;

let entry: Promise<URL> | undefined;

/** The module a chunk worker runs: the prebuilt one, else a bundle made now, else worker.mjs. */
export function chunkWorkerEntry(): Promise<URL> {
  if (typeof ZHUB_CHUNK_WORKER === "string") return Promise.resolve(new URL(ZHUB_CHUNK_WORKER, import.meta.url));
  entry ??= bundle().catch(() => new URL("./worker.mjs", import.meta.url));
  return entry;
}

async function bundle(): Promise<URL> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [path.join(import.meta.dirname, "worker-impl.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "packages-by-url",
        setup(build) {
          // Bare specifiers (packages, node: builtins) are not bundled; packages are pinned to their resolved file.
          build.onResolve({ filter: /^[^./]/ }, (args) => ({
            path: args.path.startsWith("node:") ? args.path : import.meta.resolve(args.path),
            external: true,
          }));
        },
      },
    ],
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error("esbuild produced no output");
  // Named by content: processes of the same code share one file, and a changed source never meets a stale one.
  const file = path.join(os.tmpdir(), `zhub-chunk-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`);
  if (!fs.existsSync(file)) {
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(temporary, code);
    await fs.promises.rename(temporary, file); // atomic: a concurrent process never imports half a file
  }
  return pathToFileURL(file);
}
