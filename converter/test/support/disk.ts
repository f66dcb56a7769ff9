/** What an unpacked tree on disk holds, in the shape the LXD tests compare with a flist's tree. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Owners can only be set (and so compared) when the tests run as root. */
export const IS_ROOT = process.getuid?.() === 0;

/** One line per entry, sorted by path: kind, mode, owner (as root), mtime, size and sha256 of files, link targets. */
export function describeDisk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      const p = `${prefix}/${name}`;
      if (st.isSymbolicLink()) {
        out.push(`${p} link ${fs.readlinkSync(full)}`);
        continue;
      }
      const common = `${p} ${(st.mode & 0o7777).toString(8)}${IS_ROOT ? ` ${st.uid}:${st.gid}` : ""} ${Math.floor(st.mtimeMs / 1000)}`;
      if (st.isDirectory()) {
        out.push(`${common} dir`);
        visit(full, p);
      } else out.push(`${common} file ${st.size} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`);
    }
  };
  visit(root, "");
  return out;
}
