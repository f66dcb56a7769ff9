/**
 * The zflist 2.3.0 worked example of docs/flist-format.md §7 (sample.flist and the `sub` Dir message,
 * both embedded in the spec), read with our reader and codec.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeDir, encodeDir } from "../src/flist/codec.ts";
import { dirKey, toHex } from "../src/flist/keys.ts";
import type { FileNode, LinkNode, SpecialNode } from "../src/flist/model.ts";
import { readFlist } from "../src/flist/reader.ts";
import { lsView, metadataObject } from "../src/flist/views.ts";

const spec = readFileSync(join(import.meta.dirname, "../..", "docs/flist-format.md"), "utf8");

function block(after: string): string {
  const start = spec.indexOf("```", spec.indexOf(after)) + 3;
  return spec.slice(spec.indexOf("\n", start) + 1, spec.indexOf("```", start)).replace(/\s+/g, "");
}

const sample = Buffer.from(block("`sample.flist` (1,509 B"), "base64");
const subDir = Buffer.from(block("`sub` Dir message (C, 312 B, hex)"), "hex");

describe("docs/flist-format.md §7 sample", () => {
  it("is the documented archive", () => {
    expect(sample.length).toBe(1509);
    expect(createHash("md5").update(sample).digest("hex")).toBe("c7e0435b24f87c29340f6dc72b2dd998");
  });

  it("reads: contents order, the fifo stored as a socket, link size, big.bin chunk hashes, metadata", async () => {
    const tree = await readFlist(sample);
    expect(lsView(tree, "/").map((e) => [e.name, e.type, e.size])).toEqual([
      ["sub", "directory", 4096], ["big.bin", "regular file", 1_200_000], ["empty", "regular file", 0],
      ["fifo", "unix socket", 0], ["hello.txt", "regular file", 12], ["link", "symlink", 9],
    ]);
    const [, big, empty, fifo, hello, link] = tree.root.children as [unknown, FileNode, FileNode, SpecialNode, FileNode, LinkNode];
    expect(big.blocks.map((b) => [toHex(b.key), toHex(b.hash)])).toEqual([
      ["353ae422fb88adbbe4b348c000c7e6bd", "7edd3ee7222e37dbf20949614b99ef2b"],
      ["193811de7edbdad5f97c5aa219538fee", "98d51563405d764e90e14b1d95029b01"],
      ["4adfde6f0784bdc234c50b942f10589c", "a2316b922a8f4ce5279596d0cf017f11"],
    ]);
    expect(empty.blocks).toEqual([]);
    expect([fifo.type, fifo.data]).toEqual(["socket", "(nothing)"]);
    expect(toHex((hello.blocks[0] as FileNode["blocks"][number]).hash)).toBe("a5147f6e7cac3a7076f942cb5e00d896");
    expect(link.target).toBe("hello.txt");
    expect(metadataObject(tree)).toEqual({
      backend: { namespace: "default", host: "hub.grid.tf", port: 9900 },
      entrypoint: ["/bin/sh", "-c", "echo hi"],
      environ: { PATH: "/bin:/usr/bin" },
      hello: "world",
      port: { "tcp/80": 8080 },
      volume: { "/data": { host: "/mnt/data" } },
    });
  });

  it("decodes the C `sub` message (negative pointer offsets) and re-encodes it losslessly", () => {
    expect(subDir.length).toBe(312);
    const record = decodeDir(subDir);
    expect(record).toMatchObject({ name: "sub", location: "sub", parent: dirKey(""), size: 4096n, aclkey: "d7683de000c13689" });
    expect(record.contents).toHaveLength(1);
    expect(record.contents[0]).toMatchObject({ name: "n.txt", size: 7n, aclkey: "fc9361a58f7ce7fe", creationTime: 1795305013 });
    const file = record.contents[0]?.attributes;
    expect(file?.kind === "file" && [toHex(file.blocks[0]?.hash as Uint8Array), toHex(file.blocks[0]?.key as Uint8Array)]).toEqual([
      "cd3c4b60f28588a14d3f5cbbe175572f", "da8e603f256fc2e7cd60c22a6cd8b73d",
    ]);
    expect(decodeDir(encodeDir(record))).toEqual(record);
  });
});
