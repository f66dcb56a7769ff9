/**
 * `npm run build:converter [-- --out DIR] [--modules]`: the converter service bundled into plain JavaScript
 * (scripts/lib/converter-bundle.ts), by default into dist/converter/ (git-ignored); run it with
 * `node dist/converter/main.mjs` and the environment of docs/jobs-protocol.md. `--modules` also copies the native
 * packages it needs into `<DIR>/node_modules` (the image's build does, see converter/Dockerfile).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, bundleConverter } from "./lib/converter-bundle.ts";

const { values } = parseArgs({
  options: { out: { type: "string", default: path.join(ROOT, "dist", "converter") }, modules: { type: "boolean", default: false } },
});
const started = Date.now();
const result = await bundleConverter({ outDir: values.out, modules: values.modules });
const sizes = Object.entries(result.outputs).map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KiB`);
console.log(`converter bundled into ${path.dirname(result.main)} in ${Date.now() - started} ms: ${sizes.join(", ")}`);
if (values.modules) console.log(`native packages copied: ${result.packages.join(", ")}`);
