import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlistTreeError } from "../src/flist/errors.ts";
import {
  backendMetadata, entrypointMetadata, environMetadata, jsonDumps, parseBackend, portMetadata, readmeMetadata, volumeMetadata,
} from "../src/flist/metadata.ts";
import type { FlistTree } from "../src/flist/model.ts";
import { writeFlist } from "../src/flist/writer.ts";
import { FIXTURES } from "./support/flist-fixtures.ts";

/** `db-metadata.tsv`: key TAB value, one row per line (values hold no raw newline: jansson escapes them). */
function rows(name: string): Map<string, string> {
  const text = readFileSync(join(FIXTURES, `${name}.flist.expected/db-metadata.tsv`), "utf8");
  return new Map(text.split("\n").filter(Boolean).map((line) => line.split("\t", 2) as [string, string]));
}

describe("metadata values as zflist writes them", () => {
  it("reproduces meta.flist's rows byte for byte", () => {
    const expected = rows("meta");
    const readme = readFileSync(join(FIXTURES, "meta.flist.expected/metadata-readme.json"), "utf8");
    const readmeText = (JSON.parse(readme) as { response: { value: { readme: string } } }).response.value.readme;
    const ours = new Map([
      ["backend", backendMetadata({ host: "127.0.0.1", port: 9911, namespace: "fixtures-ns", password: "fixtures-pw" })],
      ["entrypoint", entrypointMetadata(["/bin/run.sh", "--mode", "two words", "-v"])],
      ["environ", environMetadata([["LANG", "C.UTF-8"], ["PATH", "/usr/local/bin:/usr/bin:/bin"], ["GREETING", "héllo wörld"]])],
      ["maintainer", "fixtures@example.invalid"],
      ["port", portMetadata([{ in: 80, out: 8080 }, { protocol: "udp", in: 53, out: 5353 }])],
      ["readme", readmeMetadata({ readme: readmeText, license: "Apache-2.0" })],
      ["volume", volumeMetadata([{ target: "/data", host: "/srv/data" }, { target: "/cache" }])],
    ]);
    expect(ours).toEqual(expected);
    expect(backendMetadata({ host: "127.0.0.1", port: 9911 })).toBe(rows("main").get("backend"));
  });

  it("docs/flist-format.md §1.4 shapes: default namespace, socket, port defaulting to in", () => {
    expect(backendMetadata({ host: "hub.grid.tf", port: 9900, namespace: "default" })).toBe('{"namespace": "default", "host": "hub.grid.tf", "port": 9900}');
    expect(backendMetadata({ host: "h", port: 9900, socket: "/run/zdb.sock" })).toBe('{"socket": "/run/zdb.sock", "host": "h", "port": 0}');
    expect(portMetadata([{ in: 22 }])).toBe('{"tcp/22": 22}');
    expect(jsonDumps({ a: [1, "x"], b: {}, c: null })).toBe('{"a": [1, "x"], "b": {}, "c": null}');
  });

  it("parseBackend accepts zflist's shapes and names what is wrong otherwise", () => {
    expect(parseBackend('{"namespace": "ns", "host": "h", "port": 9900}')).toEqual({ host: "h", port: 9900, namespace: "ns" });
    expect(parseBackend('{"host": "h"}')).toMatch(/integer port/);
    expect(parseBackend('{"host": "h", "port": "9900"}')).toMatch(/integer port/);
    expect(parseBackend('{"port": 1}')).toMatch(/string host/);
    expect(parseBackend("hub.grid.tf:9900")).toMatch(/not JSON/);
  });

  it("the writer refuses a backend other readers cannot use", async () => {
    const owner = { uid: 0, gid: 0, user: "root", group: "root" };
    const tree: FlistTree = {
      root: { kind: "dir", name: "", mode: 0o755, owner, mtime: 0, ctime: 0, size: 4096, children: [] },
      metadata: new Map([["backend", '{"host": "h", "port": "9900"}']]),
    };
    await expect(writeFlist(tree)).rejects.toThrow(FlistTreeError);
    await expect(writeFlist(tree)).rejects.toThrow(/integer port/);
  });
});
