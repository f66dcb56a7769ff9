/**
 * No import cycle between files or between folders of the TypeScript sources (scripts/lib/import-cycles.ts says
 * what counts). Static: no local stack is started.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { expect, test } from "vitest";
import { describeCycles, findCycles } from "../scripts/lib/import-cycles.ts";

test("no import cycles between files or folders", () => {
  expect(describeCycles(findCycles(resolve(import.meta.dirname, "..")))).toEqual([]);
});

test("the check finds a file cycle, a type-only one, and a folder cycle", () => {
  const repo = mkdtempSync(join(tmpdir(), "cycles-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  };
  try {
    write("worker/src/a/one.ts", 'import { two } from "./two";\nexport const one = 1;');
    write("worker/src/a/two.ts", 'import type { One } from "./one.ts";\nexport const two = 2;');
    write("worker/src/a/three.ts", 'import { four } from "../b/four";');
    write("worker/src/b/four.ts", 'export { five } from "../a/five";');
    write("worker/src/a/five.ts", "export const five = 5;");
    const cycles = findCycles(repo, ["worker/src"]);
    expect(cycles.files).toEqual([["worker/src/a/one.ts", "worker/src/a/two.ts"]]);
    expect(cycles.folders.map((c) => c.members)).toEqual([["worker/src/a", "worker/src/b"]]);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
