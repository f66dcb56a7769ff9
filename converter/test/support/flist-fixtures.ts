/** Paths and expected zflist views of the shared flist fixtures (../shared/fixtures/flists). */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export const FIXTURES = join(import.meta.dirname, "../../../../shared/fixtures/flists");
export const FUNK = join(FIXTURES, "real/threefoldtech-funk-latest.flist");
export const REFERENCE_FLISTS = ["main", "overlay", "meta", "edited", "merged", "empty"] as const;

export function flistPath(name: string): string {
  return join(FIXTURES, `${name}.flist`);
}

function expectedDir(name: string): string {
  return join(FIXTURES, `${name}.flist.expected`);
}

/** The `response` of a single-output JSON view file. */
export function expectedResponse(name: string, file: string): unknown {
  const parsed = JSON.parse(readFileSync(join(expectedDir(name), file), "utf8")) as { response: unknown };
  return parsed.response;
}

export interface ExpectedCase {
  path?: string;
  command?: string;
  rc: number;
  output: { success: boolean; error: { function: string; message: string } | null; response: unknown };
}

/** The per-path JSON arrays (`ls.json`, `stat.json`, `errors.json`). */
export function expectedCases(name: string, file: string): ExpectedCase[] {
  const text = readFileSync(join(expectedDir(name), file), "utf8").trim();
  return text === "[\n\n]" || text === "[]" ? [] : (JSON.parse(text) as ExpectedCase[]);
}

/** `metadata-<key>.json` files of a fixture, key → response. */
export function expectedMetadataGets(name: string): Map<string, unknown> {
  const result = new Map<string, unknown>();
  for (const file of readdirSync(expectedDir(name))) {
    const match = /^metadata-(.+)\.json$/.exec(file);
    if (match?.[1]) result.set(match[1], expectedResponse(name, file));
  }
  return result;
}

export function funkExpected(): { find: unknown; lsRoot: unknown; metadata: unknown } {
  const base = join(FIXTURES, "real/threefoldtech-funk-latest");
  const json = (text: string): unknown => (JSON.parse(text) as { response: unknown }).response;
  return {
    find: json(gunzipSync(readFileSync(`${base}.find.json.gz`)).toString("utf8")),
    lsRoot: json(readFileSync(`${base}.ls-root.json`, "utf8")),
    metadata: json(readFileSync(`${base}.metadata.json`, "utf8")),
  };
}

