/** The flist engine's public API: keys, reader, writer, views, merge. */
export { ROOT_KEY, aclKey, aclString, cleanLocation, dirKey, toHex } from "./keys.ts";
export { FlistFormatError, FlistTreeError } from "./errors.ts";
export { type FlistReader, type ReadOptions, openFlist, openFlistDatabase, readFlist } from "./reader.ts";
export { BLOCK_SIZE_UNITS, FLIST_SCHEMA, type WriteResult, writeFlist } from "./writer.ts";
export * from "./views.ts";
export * from "./metadata.ts";
export { merge, mergeAll } from "./merge.ts";
export type * from "./model.ts";
