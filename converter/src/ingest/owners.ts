/**
 * uid/gid → user/group names, the way zflist gets them (`getpwuid`/`getgrgid` on the build host, decimal string
 * when unknown). Used by the directory walk, and by the tar reader for members that carry no names
 * (`--numeric-owner` archives): the hub extracts uploads and runs zflist on the result, so such members get the
 * host's names there too.
 */
import fs from "node:fs";

export interface OwnerNames {
  user(uid: number): string | undefined;
  group(gid: number): string | undefined;
}

/** No lookups: unnamed ids become decimal strings (fully deterministic, whatever the host). */
export const NO_OWNER_NAMES: OwnerNames = { user: () => undefined, group: () => undefined };

function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    const name = fields[0];
    const id = Number(fields[2]);
    // First entry wins, as getpwuid returns the first match.
    if (name && fields.length >= 3 && Number.isInteger(id) && !names.has(id)) names.set(id, name);
  }
  return names;
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Names from passwd/group files (default: the host's). Unreadable files mean no names. */
export function hostOwnerNames(passwd = "/etc/passwd", group = "/etc/group"): OwnerNames {
  const users = parseIdFile(readOrEmpty(passwd));
  const groups = parseIdFile(readOrEmpty(group));
  return { user: (uid) => users.get(uid), group: (gid) => groups.get(gid) };
}

export function nameOrDecimal(name: string | undefined, id: number): string {
  return name !== undefined && name !== "" ? name : String(id);
}
