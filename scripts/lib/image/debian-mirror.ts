/**
 * The Debian mirrors this machine's apt uses (/etc/apt/sources.list and sources.list.d, one-line or deb822
 * format): debootstrap and the image's own apt reach Debian through them, as nothing else may be reachable.
 * `DEBIAN_MIRROR` / `DEBIAN_SECURITY_MIRROR` override them.
 */
import fs from "node:fs";
import path from "node:path";

export interface DebianMirrors {
  /** Serves `bookworm` and `bookworm-updates`. */
  main: string;
  /** Serves `bookworm-security`, when the machine has one. */
  security?: string;
}

interface Source {
  uris: string[];
  suites: string[];
}

function parseSources(text: string, deb822: boolean): Source[] {
  if (deb822) {
    return text
      .split(/\n\s*\n/)
      .map((stanza) => {
        const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        const enabled = (field("Enabled")[0] ?? "yes").toLowerCase() !== "no";
        return enabled && field("Types").includes("deb") ? { uris: field("URIs"), suites: field("Suites") } : undefined;
      })
      .filter((s): s is Source => s !== undefined);
  }
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .map((line) => /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ uris: [m[1]!], suites: [m[2]!] }));
}

export function debianMirrors(env: NodeJS.ProcessEnv = process.env, etc = "/etc/apt"): DebianMirrors {
  const sources: Source[] = [];
  const list = path.join(etc, "sources.list");
  if (fs.existsSync(list)) sources.push(...parseSources(fs.readFileSync(list, "utf8"), false));
  const dir = path.join(etc, "sources.list.d");
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.endsWith(".list")) sources.push(...parseSources(fs.readFileSync(path.join(dir, name), "utf8"), false));
      else if (name.endsWith(".sources")) sources.push(...parseSources(fs.readFileSync(path.join(dir, name), "utf8"), true));
    }
  }
  const serving = (suite: string) => sources.find((s) => s.suites.includes(suite))?.uris[0];
  const main = env.DEBIAN_MIRROR || serving("bookworm") || "http://deb.debian.org/debian";
  const security = env.DEBIAN_SECURITY_MIRROR || serving("bookworm-security");
  return security ? { main, security } : { main };
}
