/**
 * The converter as production runs it, compiled (scripts/lib/converter-bundle.ts: esbuild bundle + the native
 * packages it loads), outside the repository and without tsx: `node <tmp>/main.mjs` against the real local stack
 * publishes tar uploads, a docker image and an LXD image (support/converter-checks.ts). The image test
 * (e2e/image/) runs the same checks on the bundle inside converter/Dockerfile's image.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleConverter } from "../scripts/lib/converter-bundle.ts";
import { converterChecks } from "./support/converter-checks.ts";
import { hostConverter } from "./support/stack.ts";

converterChecks("the bundled converter, run by node outside the repository", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-converter-bundle-"));
  const bundle = await bundleConverter({ outDir: out, modules: true });
  return {
    launcher: hostConverter([bundle.main]),
    close: async () => fs.rmSync(out, { recursive: true, force: true }),
  };
});
