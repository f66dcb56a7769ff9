/**
 * The flist engine's public API (legacy Zero-OS `.flist`, docs/flist-format.md): keys, reader, writer,
 * zflist views, metadata values, merge. Each module's header documents its rules.
 */
export { ROOT_KEY, aclKey, aclString, cleanLocation, dirKey, toHex } from "./keys.ts";
export { FlistFormatError, FlistTreeError } from "./errors.ts";
export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from "./archive.ts";
export { type FlistReader, type ReadOptions, openFlist, openFlistDatabase, readFlist } from "./reader.ts";
export { BLOCK_SIZE_UNITS, FLIST_SCHEMA, type WriteResult, writeFlist } from "./writer.ts";
export * from "./views.ts";
export * from "./metadata.ts";
export { merge, mergeAll } from "./merge.ts";
export type * from "./model.ts";
