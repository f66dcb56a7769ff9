/**
 * `npm run pack:zhub`: the `zhub` command line as a package of its own, `dist/zhub-<version>.tgz`, for
 * `npm install -g ./dist/zhub-<version>.tgz` (docs/cli.md "Install").
 *
 * The CLI (converter/src/cli/main.ts) and the chunk workers' module (converter/src/chunks/worker-impl.ts) are
 * bundled with esbuild into plain ESM for Node 20, so zhub starts without compiling TypeScript. The two native
 * packages, better-sqlite3 (flist databases) and snappy, stay outside the bundles: they are the package's only
 * dependencies, installed for the user's platform by npm. Nothing else is needed at run time (no tsx, no esbuild).
 *
 * The staged package is left in dist/zhub/ (git-ignored) for inspection; the tarball is written next to it (any
 * older zhub-*.tgz there removed) and its path printed alone on stdout.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";
import { z } from "zod";
import { ROOT } from "./lib/devvars.ts";

/** Bundled code must not reach these: they are native, installed as the package's dependencies. */
const NATIVE = ["better-sqlite3", "snappy"] as const;
const DIST = path.join(ROOT, "dist");
const STAGE = path.join(DIST, "zhub");
const WORKER_ENTRY = path.join(ROOT, "converter", "src", "chunks", "worker-entry.ts");
/** Next to zhub.mjs in the package. */
const WORKER_FILE = "chunk-worker.mjs";

const rootPackageSchema = z.object({
  version: z.string(),
  engines: z.object({ node: z.string() }),
  dependencies: z.record(z.string(), z.string()),
});
const dependencyPackageSchema = z.object({ name: z.string(), version: z.string(), license: z.string().optional() });

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

const rootPackage = rootPackageSchema.parse(readJson(path.join(ROOT, "package.json")));

/**
 * Outside the checkout there is no esbuild to bundle the chunk workers at start-up (worker-entry.ts): the packed
 * CLI starts them from the module bundled here, beside it.
 */
const prebuiltWorker: esbuild.Plugin = {
  name: "prebuilt-chunk-worker",
  setup(build) {
    build.onLoad({ filter: /worker-entry\.ts$/ }, (args) =>
      args.path === WORKER_ENTRY
        ? {
            loader: "ts",
            contents: `export function chunkWorkerEntry(): Promise<URL> { return Promise.resolve(new URL(${JSON.stringify(`./${WORKER_FILE}`)}, import.meta.url)); }`,
          }
        : undefined,
    );
  },
};

async function bundle(): Promise<esbuild.Metafile> {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: {
      zhub: "converter/src/cli/main.ts",
      [WORKER_FILE.replace(/\.mjs$/, "")]: "converter/src/chunks/worker-impl.ts",
    },
    outdir: STAGE,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: [...NATIVE],
    // Bundled CommonJS packages (ioredis…) call require() for Node's modules; an ES module has none of its own.
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __zhubCreateRequire } from "node:module";\nconst require = __zhubCreateRequire(import.meta.url);' },
    plugins: [prebuiltWorker],
    legalComments: "none", // the notices are in THIRD-PARTY-LICENSES
    minifySyntax: true,
    metafile: true,
    logLevel: "warning",
  });
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external) continue;
      if (isBuiltin(imported.path) || (NATIVE as readonly string[]).includes(imported.path)) continue;
      throw new Error(`${file} imports ${imported.path}, which the package does not carry`);
    }
  }
  return result.metafile;
}

/** The packages whose code went into the bundles, with their license texts. */
function thirdPartyLicenses(metafile: esbuild.Metafile): string {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(path.join(ROOT, m[1] as string));
  }
  const sections = [...dirs].sort().map((dir) => {
    const pkg = dependencyPackageSchema.parse(readJson(path.join(dir, "package.json")));
    const licenseFile = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenseFile !== undefined ? fs.readFileSync(path.join(dir, licenseFile), "utf8").trim() : `License: ${pkg.license ?? "unknown"}`;
    return `${pkg.name} ${pkg.version} (${pkg.license ?? "see below"})\n\n${text}\n`;
  });
  return `zhub bundles code of these packages:\n\n${sections.join(`\n${"-".repeat(78)}\n\n`)}`;
}

function packageJson(): string {
  const dependencies = Object.fromEntries(
    NATIVE.map((name) => {
      const version = rootPackage.dependencies[name];
      if (version === undefined) throw new Error(`${name} is not a dependency of the project`);
      return [name, version];
    }),
  );
  return `${JSON.stringify(
    {
      name: "zhub",
      version: rootPackage.version,
      description: "Command line of the Zero-OS flist hub (zos-hub): publish flists to a hub, and local flist tools",
      type: "module",
      bin: { zhub: "zhub.mjs" },
      files: ["zhub.mjs", WORKER_FILE, "README.md", "THIRD-PARTY-LICENSES"],
      engines: { node: rootPackage.engines.node },
      dependencies,
    },
    null,
    2,
  )}\n`;
}

async function main(): Promise<void> {
  fs.rmSync(STAGE, { recursive: true, force: true });
  fs.mkdirSync(STAGE, { recursive: true });
  // One tarball at a time, so `npm install -g ./dist/zhub-*.tgz` names exactly the one just built.
  for (const old of fs.readdirSync(DIST).filter((f) => /^zhub-.*\.tgz$/.test(f))) fs.rmSync(path.join(DIST, old));
  const metafile = await bundle();
  fs.chmodSync(path.join(STAGE, "zhub.mjs"), 0o755);
  fs.writeFileSync(path.join(STAGE, "package.json"), packageJson());
  fs.copyFileSync(path.join(ROOT, "docs", "cli.md"), path.join(STAGE, "README.md"));
  fs.writeFileSync(path.join(STAGE, "THIRD-PARTY-LICENSES"), thirdPartyLicenses(metafile));

  const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", DIST, STAGE], { cwd: DIST, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (packed.status !== 0) throw new Error(`npm pack failed (status ${packed.status})`);
  const [{ filename }] = z.tuple([z.object({ filename: z.string() })]).parse(JSON.parse(packed.stdout));
  const tarball = path.join(DIST, filename);
  const kib = (file: string) => `${(fs.statSync(file).size / 1024).toFixed(0)} KiB`;
  console.error(`zhub.mjs ${kib(path.join(STAGE, "zhub.mjs"))}, ${WORKER_FILE} ${kib(path.join(STAGE, WORKER_FILE))}; dependencies: ${NATIVE.join(", ")}`);
  // `./`: without it npm reads `dist/zhub-….tgz` as a GitHub repository.
  const relative = path.relative(process.cwd(), tarball);
  console.error(`install: npm install -g ${relative.startsWith("..") ? tarball : `./${relative}`}`);
  console.log(tarball);
}

await main();
