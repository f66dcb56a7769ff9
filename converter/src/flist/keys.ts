/**
 * Entry keys of the flist database (docs/flist-format.md §1.3).
 *
 * - Directory key: BLAKE2b-128 of the directory path relative to the flist root, without leading
 *   or trailing "/" (the root is ""). Readers such as 0-fs hash the path themselves instead of
 *   following `SubDir.key`, so writers must use exactly this key.
 * - ACL key: BLAKE2b-64 of zflist's current ACL string. Only writers compute it: older flists used
 *   other strings, so readers look ACL keys up and never recompute them.
 */
import { blake2b128, blake2b64 } from "../crypto/blake2b.ts";

const utf8 = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Removes every leading and trailing "/" (zflist's `flist_clean_path`): "/var/log/" → "var/log". */
export function cleanLocation(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

/** Directory entry key: `dirKey("")` = root = cae66941d9efbd404e4d88758ea67670. */
export function dirKey(location: string): string {
  return toHex(blake2b128(utf8.encode(cleanLocation(location))));
}

export const ROOT_KEY = "cae66941d9efbd404e4d88758ea67670";

export interface AclFields {
  user: string;
  group: string;
  /** Permission bits (07777); the octal rendering of exactly this number is hashed. */
  mode: number;
  uid: number;
  gid: number;
}

/** The exact string libflist ≥ 2022-04 hashes (no trailing newline; uid/gid printed with `%ld`). */
export function aclString(acl: AclFields): string {
  return `user:${acl.user}\ngroup:${acl.group}\nmode:0o${acl.mode.toString(8)}\nuid:${acl.uid}\ngid:${acl.gid}`;
}

/** ACL entry key: root/root/0755/0/0 → d7683de000c13689. */
export function aclKey(acl: AclFields): string {
  return toHex(blake2b64(utf8.encode(aclString(acl))));
}
