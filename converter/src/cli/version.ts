/**
 * zhub's version: the project's (root package.json). Imported, not read at run time, so the packed CLI
 * (scripts/zhub-package.ts) carries the version it was built from.
 */
import project from "../../../package.json" with { type: "json" };

export const VERSION: string = project.version;
