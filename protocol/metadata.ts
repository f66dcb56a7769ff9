/**
 * Flist metadata keys the hub sets itself (docs/compatibility.md §5.1): an upload's `metadata-<key>` fields cannot
 * set them. The Worker drops them from the upload (worker/src/uploads/naming.ts) and the converter checks again
 * before writing a tar job's metadata (converter/src/service/pipelines/tar.ts), since a flist's backend must be
 * the hub's.
 */
export const PROTECTED_METADATA: ReadonlySet<string> = new Set(["readme", "backend", "entrypoint", "environ", "port", "volume"]);
