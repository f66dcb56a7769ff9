/**
 * `npm run bench`: runs every `bench/*.bench.ts` in turn (or only those whose name contains
 * one of the arguments: `npm run bench -- catalog`), each printing its own figures.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const dir = import.meta.dirname;
const filters = process.argv.slice(2);
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file} ===`);
  const run = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, file)], { stdio: "inherit" });
  if (run.status !== 0) {
    failed++;
    console.log(`${file} failed (exit ${run.status})`);
  }
}
process.exit(failed ? 1 : 0);
