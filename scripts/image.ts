/**
 * `npm run image [-- --tag T] [--base IMAGE] [--rebuild-base] [--no-cache]`: builds converter/Dockerfile with
 * buildah on this machine (docs/converter-image.md). Without `--base`, the Node 20 base is made from Debian
 * packages first (scripts/lib/image/node-base.ts) unless buildah's storage already holds it.
 */
import { parseArgs } from "node:util";
import { megabytes } from "./lib/image/buildah.ts";
import { buildConverterImage } from "./lib/image/converter-image.ts";
import { ensureNodeBase } from "./lib/image/node-base.ts";

const { values } = parseArgs({
  options: {
    tag: { type: "string" },
    base: { type: "string" },
    "rebuild-base": { type: "boolean", default: false },
    "no-cache": { type: "boolean", default: false },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);
if (values["rebuild-base"] && !values.base) await ensureNodeBase({ force: true, log });
const built = await buildConverterImage({ base: values.base, tag: values.tag, noCache: values["no-cache"], log });
console.log(`${built.image} (${built.id.slice(0, 12)}): ${megabytes(built.bytes)} in ${built.layers} layers, base ${built.base}${built.baseBuilt ? " (built now)" : ""}, ${built.seconds.toFixed(0)} s`);
