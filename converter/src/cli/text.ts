/** Text output of `zhub flist ls|find|stat|check`, in the layout of zflist 2.3.0's text mode (the fixtures' `.txt`). */
import type { FindResponse, LsEntry, StatResponse } from "../flist/views.ts";

const TYPE_CHARS: Record<string, string> = {
  directory: "d",
  "regular file": "-",
  symlink: "l",
  "unix socket": "s",
  "block device": "b",
  "character device": "c",
  fifo: "f",
};

/** `rwxr-xr-x` from the low 9 bits (zflist shows no setuid/setgid/sticky letters). */
export function permissions(mode: number): string {
  let out = "";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    out += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return out;
}

export function typeChar(type: string): string {
  return TYPE_CHARS[type] ?? "?";
}

/** `drwxr-xr-x root     root           4096  .config` */
export function lsText(entries: LsEntry[], modes: number[]): string {
  return entries
    .map((e, i) => {
      const line = `${typeChar(e.type)}${permissions(modes[i] ?? 0)} ${e.user.padEnd(8)} ${e.group.padEnd(8)} ${String(e.size).padStart(10)}  ${e.name}`;
      return `${line}\n`;
    })
    .join("");
}

/** The paths, then zflist's "Content summary". */
export function findText(find: FindResponse): string {
  const lines = find.content.map((c) => c.path);
  return `${lines.map((l) => `${l}\n`).join("")}${summaryText(find)}`;
}

export function summaryText(find: FindResponse): string {
  return [
    "",
    "Content summary:",
    `  Regular files  : ${find.regular}`,
    `  Symbolic links : ${find.symlink}`,
    `  Directories    : ${find.directory}`,
    `  Special files  : ${find.special}`,
    `  Failure        : ${find.failure}`,
    `  Total size     : ${(find.fullsize / (1024 * 1024)).toFixed(2)} MB`,
    "",
    "",
  ].join("\n");
}

export function statText(stat: StatResponse, type: string): string {
  const lines = [
    `  File: ${stat.file}`,
    `  Size: ${stat.size} bytes`,
    `Access: (${stat.mode.toString(8)}/${typeChar(type)}${permissions(stat.mode)})  UID: ${stat.uid} (${stat.user}), GID: ${stat.gid} (${stat.group})`,
    `Access: ${stat.modified}`,
    `Create: ${stat.created}`,
  ];
  if (stat.linkto !== undefined) lines.push(`Target: ${stat.linkto}`);
  if (stat.device !== undefined) lines.push(`Device: ${stat.device}`);
  if (stat.chunks.length === 0) lines.push("Chunks: (empty set)");
  stat.chunks.forEach((c, i) => lines.push(`${i === 0 ? "Chunks: " : "        "}key: ${c.key}, decipher: ${c.decipher}`));
  return `${lines.join("\n")}\n`;
}
