/**
 * The converter service as compiled JavaScript (docs/converter-image.md): esbuild bundles
 * converter/src/service/main.ts into `main.mjs` and the chunk worker thread (converter/src/chunks/worker-impl.ts)
 * into `chunk-worker.mjs`, so production runs plain `node main.mjs`: no tsx, no TypeScript, no esbuild at run time.
 *
 * Native addons cannot be bundled: better-sqlite3 and snappy stay imports, resolved from a `node_modules` beside
 * the bundle or above it. With `modules`, their run-time closure is copied into `<outDir>/node_modules` (what the
 * image ships, so the output directory is self-contained); without, Node finds them in the repository's own
 * node_modules when the output lies inside the repository (`npm run build:converter` → dist/converter/).
 */
import fs from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** Packages with native code: never bundled, shipped as installed. */
export const NATIVE_PACKAGES = ["better-sqlite3", "snappy"] as const;

/**
 * Dependencies that only run when a package is installed (better-sqlite3's `prebuild-install` fetches a prebuilt
 * binary): never loaded by the service, so never shipped.
 */
const INSTALL_ONLY = new Set(["prebuild-install"]);

export interface BundleOptions {
  outDir: string;
  /** Copy the native packages' run-time closure into `<outDir>/node_modules`. */
  modules?: boolean;
  /** Where the native packages are installed (default: the repository's node_modules). */
  nodeModules?: string;
}

export interface BundleResult {
  /** Absolute path of the service's entry (`node <main>` runs the converter). */
  main: string;
  /** Bytes of each file written by esbuild, by name. */
  outputs: Record<string, number>;
  /** Packages copied into `<outDir>/node_modules` (with `modules`). */
  packages: string[];
}

export async function bundleConverter(options: BundleOptions): Promise<BundleResult> {
  const outDir = path.resolve(options.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: {
      main: path.join(ROOT, "converter/src/service/main.ts"),
      "chunk-worker": path.join(ROOT, "converter/src/chunks/worker-impl.ts"),
    },
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Readable stack traces in the service's logs: names kept, nothing minified.
    keepNames: true,
    metafile: true,
    logLevel: "warning",
    // esbuild is only imported by the run-time bundling that ZHUB_CHUNK_WORKER switches off.
    external: [...NATIVE_PACKAGES, "esbuild"],
    define: { ZHUB_CHUNK_WORKER: JSON.stringify("./chunk-worker.mjs") },
    // CommonJS dependencies (ioredis, tar-stream, …) call require() for Node's built-ins, which an ES module lacks.
    banner: { js: 'import { createRequire as __zhubCreateRequire } from "node:module";\nconst require = __zhubCreateRequire(import.meta.url);' },
  });
  const outputs: Record<string, number> = {};
  for (const [file, info] of Object.entries(result.metafile.outputs)) outputs[path.basename(file)] = info.bytes;

  const packages: string[] = [];
  if (options.modules) {
    const from = path.resolve(options.nodeModules ?? path.join(ROOT, "node_modules"));
    const to = path.join(outDir, "node_modules");
    fs.rmSync(to, { recursive: true, force: true });
    for (const name of runtimeClosure(from, NATIVE_PACKAGES)) {
      copyPackage(path.join(from, name), path.join(to, name));
      packages.push(name);
    }
  }
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  fs.writeFileSync(
    path.join(outDir, "package.json"),
    `${JSON.stringify({ name: "zos-hub-converter", version: root.version, private: true, type: "module", main: "main.mjs" }, null, 2)}\n`,
  );
  return { main: path.join(outDir, "main.mjs"), outputs, packages };
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * `roots` and every dependency they load, as paths under `nodeModules` (npm's hoisted layout; a dependency nested
 * inside a package's own node_modules is copied with that package). Optional dependencies not installed (snappy's
 * builds for other platforms) are skipped; a required one missing is an error.
 */
export function runtimeClosure(nodeModules: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, required: boolean) => {
    if (seen.has(name) || INSTALL_ONLY.has(name)) return;
    const dir = path.join(nodeModules, name);
    if (!fs.existsSync(path.join(dir, "package.json"))) {
      if (required) throw new Error(`${name} is not installed in ${nodeModules} (run npm ci)`);
      return;
    }
    seen.add(name);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest;
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      if (!fs.existsSync(path.join(dir, "node_modules", dep))) visit(dep, true);
    }
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
      if (!fs.existsSync(path.join(dir, "node_modules", dep))) visit(dep, false);
    }
  };
  for (const name of roots) visit(name, true);
  return [...seen].sort();
}

/**
 * Copies an installed package. One compiled here with node-gyp (a binding.gyp) keeps only its built addons from
 * `build/` and drops its C sources (`src/`, `deps/`: better-sqlite3's SQLite amalgamation alone is ~9 MB).
 */
function copyPackage(from: string, to: string): void {
  const compiled = fs.existsSync(path.join(from, "binding.gyp"));
  fs.cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      if (!compiled) return true;
      const rel = path.relative(from, src).split(path.sep);
      if (rel[0] === "src" || rel[0] === "deps") return false;
      if (rel[0] !== "build") return true;
      // build, build/Release, and the .node files directly in it
      if (rel.length === 1 || (rel.length === 2 && rel[1] === "Release")) return true;
      return rel.length === 3 && rel[1] === "Release" && rel[2]!.endsWith(".node");
    },
  });
}
