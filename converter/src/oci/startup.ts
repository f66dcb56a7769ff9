/**
 * `/.startup.toml` as the original hub's docker conversion wrote it (docs/compatibility.md §5.4, pytoml output), written
 * only on request: the metadata rows are the primary record now (docs/compatibility.md §6.14).
 *
 * ```
 * [startup]
 *
 * [startup.entry]
 * name = "core.system"
 *
 * [startup.entry.args]
 * name = "/docker-entrypoint.sh"
 * args = ["nginx", "-g", "daemon off;"]
 * dir = "/"
 *
 * [startup.entry.args.env]
 * PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
 * ```
 *
 * Same rules as the original for `name` (Entrypoint[0], else Cmd[0], else `/bin/sh`), `dir` (WorkingDir or `/`)
 * and `env`; one fix: `args` is the rest of Entrypoint followed by Cmd (the original dropped Cmd when the
 * entrypoint had several elements, docs/compatibility.md §5.4). With no arguments the `args` line is left out (pytoml
 * wrote a comment in its place).
 */
import type { ImageConfig } from "./manifest.ts";
import { environment } from "./image-metadata.ts";

export function startupToml(config: ImageConfig): string {
  const c = config.config ?? {};
  const entrypoint = c.Entrypoint ?? [];
  const cmd = c.Cmd ?? [];
  let name: string;
  let args: string[];
  if (entrypoint.length > 0) {
    name = entrypoint[0] as string;
    args = [...entrypoint.slice(1), ...cmd];
  } else if (cmd.length > 0) {
    name = cmd[0] as string;
    args = cmd.slice(1);
  } else {
    name = "/bin/sh"; // the original created its container with command=/bin/sh in that case
    args = [];
  }
  const lines = ["[startup]", "", "[startup.entry]", 'name = "core.system"', "", "[startup.entry.args]", `name = ${tomlString(name)}`];
  if (args.length > 0) lines.push(`args = [${args.map(tomlString).join(", ")}]`);
  lines.push(`dir = ${tomlString(c.WorkingDir || "/")}`);
  lines.push("", "[startup.entry.args.env]");
  for (const [key, value] of environment(c.Env ?? [])) lines.push(`${tomlKey(key)} = ${tomlString(value)}`);
  return `${lines.join("\n")}\n`;
}

const ESCAPES: Record<string, string> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\" };

/** A TOML basic string, escaping as pytoml does (named escapes, other control characters as \uXXXX). */
export function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Bare keys are `[A-Za-z0-9_-]+`; anything else is quoted. */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}
