/**
 * The reference programs the tests check the hub against (docs/zdb.md "Tests"): the real 0-db 2.0.7 (`zdb`) and
 * zflist 2.3.0. They live in the shared tools folder next to the project checkout; `$ZDB_BIN` / `$ZFLIST_BIN`
 * point elsewhere.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const TOOLS = resolve(import.meta.dirname, "../../../../shared/tools/bin");

function find(name: string, variable: string): string {
  const candidates = [process.env[variable], resolve(TOOLS, name)].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p)) return p;
  throw new Error(`the reference ${name} binary was not found (set ${variable}; looked in ${candidates.join(", ")})`);
}

export const zdbBinary = (): string => find("zdb", "ZDB_BIN");
export const zflistBinary = (): string => find("zflist", "ZFLIST_BIN");
