import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

/**
 * The pipeline under vitest (this process) is covered by every pipeline test; this one runs it the way the CLI
 * does, in a separate `tsx` process.
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

/**
 * worker-entry.ts: the workers run one bundled JavaScript module, so they need no TypeScript loader (tsx costs
 * each worker ~40 MB). Checked in a plain `node` process with no loader at all: the bundle alone must run.
 */
it("workers start from a bundled module that plain node runs, and encrypt as the main thread does", async () => {
  const { chunkWorkerEntry } = await import("../src/chunks/worker-entry.ts");
  const entry = await chunkWorkerEntry();
  expect(entry.protocol).toBe("file:");
  expect(entry.pathname.startsWith(pathToFileURL(tmpdir()).pathname)).toBe(true);
  const code = await readFile(entry, "utf8");
  const imports = [...code.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1] ?? "");
  expect(imports.length).toBeGreaterThan(0);
  expect(imports.filter((s) => !s.startsWith("node:") && !s.startsWith("file://"))).toEqual([]);
  expect(imports.filter((s) => s.endsWith(".ts"))).toEqual([]);

  const { encryptChunk, hex } = await import("../src/chunks/transform.ts");
  const plain = new TextEncoder().encode("hello world\n");
  const expected = encryptChunk(plain);
  const script = `
    import { Worker } from "node:worker_threads";
    const worker = new Worker(new URL(${JSON.stringify(entry.href)}), { execArgv: [] });
    worker.once("message", () => {
      const buf = new SharedArrayBuffer(${1 << 20});
      new Uint8Array(buf).set(new TextEncoder().encode("hello world\\n"));
      worker.postMessage({ id: 1, slot: 0, buf, len: 12 });
      worker.once("message", (r) => {
        console.log(JSON.stringify({ hash: Buffer.from(r.hash).toString("hex"), key: Buffer.from(r.key).toString("hex"), length: r.length }));
        process.exit(0);
      });
    });`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 });
  expect(JSON.parse(stdout)).toEqual({ hash: hex(expected.hash), key: hex(expected.key), length: expected.data.length });
});

/**
 * Workers read their thread CPU only every few replies (worker-impl.ts CPU_EVERY) and once more when the pool
 * closes: the figures of `zhub flist create --json` must include that last reading. A worker's start-up (loading
 * its module, compiling WebAssembly) is CPU outside the timed stages, so a complete reading shows overhead > 0;
 * with the reading of the latest reply only (none here: fewer replies than CPU_EVERY), it would be 0.
 */
it("stage figures after close include each worker's final CPU reading", async () => {
  const { WorkerPool } = await import("../src/chunks/workers.ts");
  const { MAX_STORED_SIZE } = await import("../src/chunks/transform.ts");
  const pool = new WorkerPool(1);
  const buf = new SharedArrayBuffer(MAX_STORED_SIZE);
  new Uint8Array(buf).fill(7, 0, 4096);
  for (let i = 0; i < 3; i++) await pool.encrypt(0, buf, 4096).then(() => new Uint8Array(buf).fill(7, 0, 4096));
  await pool.close();
  const s = pool.stageSeconds();
  expect(s.hashing + s.compression + s.encryption).toBeGreaterThan(0);
  expect(s.overhead).toBeGreaterThan(0);
});
