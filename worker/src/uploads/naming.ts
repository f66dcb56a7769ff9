/**
 * Target names of uploads (docs/compatibility.md §2): the multipart file name goes through Werkzeug's `secure_filename`,
 * `X-Original-Name` is only reduced to its basename (zflist sends the full local path), then `.tar.gz` is stripped
 * (archives) and `.flist` added. The result must still pass the catalog's name rules (a clear 400 otherwise).
 */
import { PROTECTED_METADATA } from "../../../protocol/metadata";
import { flistName } from "../names";
import { HubError } from "../http/errors";
import { headerText } from "../http/header-text";

export const ARCHIVE_SUFFIX = ".tar.gz";
export const FLIST_UPLOAD_SUFFIX = ".flist";

/**
 * Werkzeug `secure_filename` (POSIX): NFKD then ASCII only, `/` → space, whitespace runs → `_`, characters
 * outside `[A-Za-z0-9_.-]` dropped, leading/trailing `.`/`_` stripped. `My App (1).tar.gz` → `My_App_1.tar.gz`.
 */
export function secureFilename(filename: string): string {
  // eslint-disable-next-line no-control-regex
  const ascii = filename.normalize("NFKD").replace(/[^\u0000-\u007f]/g, "");
  // Python's str.split() without argument: ASCII whitespace plus the \x1c-\x1f separators.
  const joined = ascii
    .replaceAll("/", " ")
    .split(/[\t\n\v\f\r \u001c-\u001f]+/)
    .filter(Boolean)
    .join("_");
  return joined.replace(/[^A-Za-z0-9_.-]/g, "").replace(/^[._]+|[._]+$/g, "");
}

/** `os.path.basename` of the header value. */
function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The stored name of an upload: `kind` "tar" strips `.tar.gz`, "flist" keeps the name as is (`x.flist`).
 * `originalName` is the `X-Original-Name` header as received, when present (UTF-8 bytes are read as UTF-8). Only
 * `/` splits it: a backslash stays in the name, which the name rule then refuses.
 */
export function uploadTargetName(kind: "tar" | "flist", filename: string, originalName: string | undefined): string {
  const original = headerText(originalName);
  let base = original ? basename(original) : secureFilename(filename);
  if (kind === "tar" && base.endsWith(ARCHIVE_SUFFIX)) base = base.slice(0, -ARCHIVE_SUFFIX.length);
  return flistName(base, "name");
}

/** Keys an upload's `metadata-<key>` fields may not set: the converter writes them itself (docs/compatibility.md §5.1). */
export { PROTECTED_METADATA };
const MAX_METADATA_FIELDS = 64;
const MAX_METADATA_VALUE = 64 * 1024;

/**
 * `metadata-<key>` fields (form fields or query parameters) → raw values; the protected keys are ignored, as
 * the original did. Keys must be plain names (they become zflist metadata keys).
 */
export function metadataFields(entries: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of entries) {
    if (!field.startsWith("metadata-")) continue;
    const key = field.slice("metadata-".length);
    if (PROTECTED_METADATA.has(key)) continue;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) throw new HubError(400, `invalid metadata key: ${JSON.stringify(key)}`);
    if (typeof value !== "string") throw new HubError(400, `metadata-${key}: expected a text value`);
    if (value.length > MAX_METADATA_VALUE) throw new HubError(413, `metadata-${key}: value too large`);
    out[key] = value;
    if (Object.keys(out).length > MAX_METADATA_FIELDS) throw new HubError(400, "too many metadata fields");
  }
  return out;
}
