import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

/**
 * The pipeline's workers load TypeScript. Under vitest (this process) that is covered by every pipeline test;
 * this one runs it the way the CLI does, in a separate `tsx` process, where the workers inherit tsx's loader.
 */
it("pipeline workers also run under the tsx CLI", async () => {
  const dir = await mkdtemp(join(tmpdir(), "zhub-tsx-"));
  try {
    const src = (p: string) => pathToFileURL(join(import.meta.dirname, "../src", p)).href;
    const script = join(dir, "run.mts");
    await writeFile(script, `
      import { ChunkPipeline } from ${JSON.stringify(src("chunks/pipeline.ts"))};
      import { hex } from ${JSON.stringify(src("chunks/transform.ts"))};
      import { openStore } from ${JSON.stringify(src("store/index.ts"))};
      const store = await openStore(${JSON.stringify(pathToFileURL(join(dir, "store")).href)});
      const pipeline = new ChunkPipeline(store, { threads: 2 });
      const { blocks } = await pipeline.addFile([new TextEncoder().encode("hello world\\n")]);
      const stats = await pipeline.finish();
      console.log(JSON.stringify({ blocks: (await blocks).map((b) => [hex(b.hash), hex(b.key)]), stats }));
    `);
    const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, script], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      blocks: [["a5147f6e7cac3a7076f942cb5e00d896", "c0cdb4699cdaa9eea4c563a934f1d52b"]],
      stats: { chunks: 1, written: 1, skipped: 0, bytesIn: 12, bytesStored: 20 },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
