/**
 * ingestArchive end to end with a real chunk pipeline and a file:// store: metadata it sets (backend, readme),
 * hostile archives failing through the pipeline path too, and the reader's memory staying flat on a large input.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestError, ingestArchive, parseBackend } from "../src/ingest/index.ts";
import { backendMetadata, jsonDumps } from "../src/flist/metadata.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";
import { fixChecksum, makeTar, makeTarGz } from "./ingest-archives.ts";

let work: string;
let store: ChunkStore;

beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-ingest-"));
  store = await openStore(`file://${work}/store`);
});

afterAll(async () => {
  await store?.close();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

describe("metadata set by ingestion", () => {
  it("backend: host:port[/namespace] in zflist's JSON layout", async () => {
    expect(parseBackend("hub.grid.tf:9900/default")).toEqual({ host: "hub.grid.tf", port: 9900, namespace: "default" });
    expect(parseBackend("[::1]:9900")).toEqual({ host: "::1", port: 9900 });
    for (const bad of ["hub", "hub:0", "hub:99999", ":9900", "hub:port"]) expect(() => parseBackend(bad), bad).toThrow(/invalid backend/);
    const { tree } = await ingestArchive(Readable.from([await makeTar([{ name: "a", data: "x" }])]), {
      store,
      backend: "zdb.example:9900/my-ns",
    });
    expect(tree.metadata.get("backend")).toBe('{"namespace": "my-ns", "host": "zdb.example", "port": 9900}');
    expect(backendMetadata({ host: "127.0.0.1", port: 9911 })).toBe('{"host": "127.0.0.1", "port": 9911}');
  });

  it("readme: /.README.md, then /.README (the last wins), regular files only, as the hub imports them", async () => {
    const text = "# Title\n\tline \"two\" \u001b[1m\u00e9\n";
    const one = await ingestArchive(Readable.from([await makeTarGz([{ name: "./.README.md", data: text }])]), { store });
    expect(one.tree.metadata.get("readme")).toBe(`{"readme": "# Title\\n\\tline \\"two\\" \\u001B[1m\u00e9\\n"}`);
    expect(JSON.parse(one.tree.metadata.get("readme") as string)).toEqual({ readme: text });
    const both = await ingestArchive(
      Readable.from([await makeTar([{ name: ".README", data: "plain" }, { name: ".README.md", data: "markdown" }])]),
      { store },
    );
    expect(both.tree.metadata.get("readme")).toBe('{"readme": "plain"}');
    const linked = await ingestArchive(
      Readable.from([await makeTar([{ name: ".README.md", type: "symlink", linkname: "/etc/passwd" }, { name: "sub/.README", data: "no" }])]),
      { store },
    );
    expect(linked.tree.metadata.has("readme")).toBe(false);
    const replaced = await ingestArchive(
      Readable.from([await makeTar([{ name: ".README.md", data: "old" }, { name: ".README.md", type: "directory" }])]),
      { store },
    );
    expect(replaced.tree.metadata.has("readme")).toBe(false);
  });

  it("jansson layout: separators with spaces, upper-case \\u escapes, UTF-8 kept, escaped backslashes left alone", () => {
    expect(jsonDumps({ a: [1, "x"], b: { c: null, d: true } })).toBe('{"a": [1, "x"], "b": {"c": null, "d": true}}');
    expect(jsonDumps("\u0001\\u001b wörld")).toBe('"\\u0001\\\\u001b wörld"');
  });
});

describe("hostile archives through the full ingestion", () => {
  async function failure(archive: Buffer, caps = {}): Promise<IngestError> {
    const err = await ingestArchive(Readable.from([archive]), { store, caps }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IngestError);
    return err as IngestError;
  }

  it("a truncated file body names the entry, even while its bytes were going to the pipeline", async () => {
    const tarball = await makeTar([{ name: "ok.txt", data: "fine" }, { name: "big.bin", data: Buffer.alloc(1024 * 1024, 7) }]);
    const err = await failure(tarball.subarray(0, 1536 + 600 * 1024));
    expect(err.rule).toBe("truncated");
    expect(err.entry).toBe("big.bin");
    const gz = await makeTarGz([{ name: "big.bin", data: Buffer.alloc(3 * 1024 * 1024, 1) }]);
    expect((await failure(gz.subarray(0, gz.length - 8))).rule).toBe("truncated");
  });

  it("a gzip bomb stops at the cap while its bytes stream to the pipeline", async () => {
    const bomb = await makeTarGz([{ name: "zeros", data: Buffer.alloc(20 * 1024 * 1024) }]);
    const err = await failure(bomb, { maxExpandedBytes: 4 * 1024 * 1024 });
    expect(err.rule).toBe("expanded-size-cap");
    expect(err.message).toContain("zeros");
  });

  it("fails at once on a hostile entry even if the source then stalls, and releases the source", async () => {
    const head = await makeTar([{ name: "../x", data: "x" }]);
    const source = new Readable({ read() {} });
    source.push(head.subarray(0, 1024)); // the member and its data, then nothing more (and no end)
    const err = await ingestArchive(source, { store }).catch((e: unknown) => e);
    expect((err as IngestError).rule).toBe("dot-dot");
    expect(source.destroyed).toBe(true);
  });

  it("rules are checked before a file's bytes are stored", async () => {
    const err = await failure(await makeTar([{ name: "l", type: "symlink", linkname: "/" }, { name: "l/etc/x", data: "x" }]));
    expect(err.rule).toBe("symlink-parent");
  });
});

describe("streaming", () => {
  /** A tar.gz of one `size`-byte file of zeros, produced on the fly (never held whole). */
  async function* zerosTarGz(size: number): AsyncGenerator<Buffer> {
    const header = Buffer.from((await makeTar([{ name: "zeros.bin", data: "" }])).subarray(0, 512));
    header.write(size.toString(8).padStart(11, "0") + "\0", 124, "latin1");
    fixChecksum(header);
    async function* plain(): AsyncGenerator<Buffer> {
      yield header;
      const block = Buffer.alloc(1024 * 1024);
      for (let done = 0; done < size; done += block.length) yield block;
      yield Buffer.alloc(1024);
    }
    yield* Readable.from(plain()).pipe(createGzip({ level: 1 }));
  }

  it("reads a large archive with flat memory: the tar/gzip side holds no file data", async () => {
    // The collaborator here only drains the file bodies: what is measured is the reader, not the chunk workers.
    const drain = {
      async addFile(source: AsyncIterable<Uint8Array>) {
        let n = 0;
        for await (const chunk of source) n += chunk.byteLength;
        return { blocks: Promise.resolve(new Array(Math.ceil(n / (512 * 1024)))) };
      },
      async finish() {},
    };
    const peakDuring = async (size: number) => {
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      try {
        const { stats } = await ingestArchive(Readable.from(zerosTarGz(size)), { pipeline: drain });
        expect(stats.fileBytes).toBe(size);
        expect(stats.gzip).toBe(true);
      } finally {
        clearInterval(timer);
      }
      return peak - before;
    };
    const small = await peakDuring(8 * 1024 * 1024);
    const large = await peakDuring(256 * 1024 * 1024);
    expect(large - small).toBeLessThan(32 * 1024 * 1024);
  });
});
