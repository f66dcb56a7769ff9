/**
 * `zhub completion bash|zsh|fish`: the scripts the bin prints (node converter/bin/zhub.js, a child process), loaded
 * into the real shells. bash: `_zhub` called with COMP_WORDS/COMP_CWORD as bash sets them on Tab. fish: its own
 * completion engine (`complete -C 'zhub …'`). zsh: registered by compinit, and its candidate function run with
 * `words`/`CURRENT` as zsh sets them (the drawing of the matches, compadd/_describe, only works inside a live
 * completion widget). The command and option lists are the ones the parsers enforce.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLIST_COMMAND_OPTIONS } from "../src/cli/flist.ts";
import { HUB_COMMAND_OPTIONS } from "../src/cli/hub/commands.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/zhub.js");

function exec(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, HOME: cwd, LANG: "C.UTF-8" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const sorted = (lines: string) => lines.split("\n").filter((l) => l !== "").sort();

let temp: string;
/** The shells' working directory: local paths for the commands that take them. */
let dir: string;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  temp = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-completion-"));
  dir = path.join(temp, "work");
  fs.mkdirSync(dir);
  for (const shell of ["bash", "zsh", "fish"]) {
    const result = await exec(process.execPath, [BIN, "completion", shell], dir);
    expect(result.code, result.stderr).toBe(0);
    scripts[shell] = path.join(temp, `zhub.${shell}`);
    fs.writeFileSync(scripts[shell] as string, result.stdout);
  }
  fs.writeFileSync(path.join(dir, "app.tar.gz"), "");
  fs.writeFileSync(path.join(dir, "app.flist"), "");
  fs.mkdirSync(path.join(dir, "rootfs"));
});

afterAll(async () => {
  if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
});

describe("zhub completion", () => {
  it("refuses an unknown shell (exit 2) and prints help", async () => {
    const bad = await exec(process.execPath, [BIN, "completion", "tcsh"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown shell 'tcsh'");
    const help = await exec(process.execPath, [BIN, "completion", "--help"], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: zhub completion <bash|zsh|fish>");
  });
});

describe("bash", () => {
  /** What Tab offers at the end of `line` (COMP_WORDS split on spaces, as bash does for these words). */
  async function complete(line: string): Promise<string[]> {
    const words = line.split(" ");
    const script = [
      `source ${quote(scripts.bash as string)}`,
      `COMP_WORDS=(${words.map(quote).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      `COMP_LINE=${quote(line)}`,
      `COMP_POINT=${line.length}`,
      "_zhub",
      `printf '%s\\n' "\${COMPREPLY[@]}"`,
    ].join("\n");
    const result = await exec("bash", ["--noprofile", "--norc", "-c", script], dir);
    expect(result.code, result.stderr).toBe(0);
    return sorted(result.stdout);
  }

  it("registers _zhub for zhub", async () => {
    const result = await exec("bash", ["--noprofile", "--norc", "-c", `source ${quote(scripts.bash as string)}; complete -p zhub`], dir);
    expect(result.stdout).toBe("complete -F _zhub zhub\n");
  });

  it("completes commands, flist subcommands and the shells of completion", async () => {
    expect(await complete("zhub up")).toEqual(["upload"]);
    expect(await complete("zhub l")).toEqual(["link", "login", "ls"]);
    expect(await complete("zhub ")).toEqual(
      [...Object.keys(HUB_COMMAND_OPTIONS), "flist", "completion", "help", "--version", "--help"].sort(),
    );
    expect(await complete("zhub --v")).toEqual(["--version"]);
    expect(await complete("zhub flist ")).toEqual([...Object.keys(FLIST_COMMAND_OPTIONS), "--help"].sort());
    expect(await complete("zhub flist c")).toEqual(["cat", "check", "create"]);
    expect(await complete("zhub completion ")).toEqual(["bash", "fish", "zsh"]);
    expect(await complete("zhub completion z")).toEqual(["zsh"]);
    expect(await complete("zhub completion bash ")).toEqual([]);
  });

  it("completes each command's own options", async () => {
    expect(await complete("zhub upload --")).toEqual(
      ["--async", "--help", "--hub", "--json", "--metadata", "--name", "--part-size", "--repo", "--resumable"],
    );
    expect(await complete("zhub upload --re")).toEqual(["--repo", "--resumable"]);
    expect(await complete("zhub job --f")).toEqual(["--follow"]);
    expect(await complete("zhub rm --")).toEqual(["--help", "--hub", "--repo"]);
    expect(await complete("zhub flist create --max-e")).toEqual(["--max-entries", "--max-expanded-bytes"]);
    expect(await complete("zhub flist create --max-d")).toEqual(["--max-depth"]);
    expect(await complete("zhub flist cat app.flist /etc/motd --")).toEqual(["--help", "--store"]);
    expect(await complete("zhub flist merge --")).toEqual(["--help"]);
  });

  it("completes local paths where a command takes them, nothing after an option that takes a value", async () => {
    expect(await complete("zhub upload ")).toEqual(["app.flist", "app.tar.gz", "rootfs"]);
    expect(await complete("zhub upload app.t")).toEqual(["app.tar.gz"]);
    expect(await complete("zhub push r")).toEqual(["rootfs"]);
    expect(await complete("zhub flist ls app.f")).toEqual(["app.flist"]);
    expect(await complete("zhub flist create --store file:///tmp/chunks r")).toEqual(["rootfs"]);
    expect(await complete("zhub upload --name ")).toEqual([]);
    expect(await complete("zhub flist create --store ")).toEqual([]);
    // Hub names are not local paths.
    expect(await complete("zhub rename ")).toEqual([]);
    expect(await complete("zhub nothing ")).toEqual([]);
  });
});

describe("fish", () => {
  async function complete(line: string): Promise<string[]> {
    const script = `source ${quote(scripts.fish as string)}; complete -C ${quote(line)}`;
    const result = await exec("fish", ["--no-config", "-c", script], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    return sorted(result.stdout).map((l) => l.split("\t")[0] as string);
  }

  it("completes commands (with descriptions), flist subcommands and shells", async () => {
    const top = await exec("fish", ["--no-config", "-c", `source ${quote(scripts.fish as string)}; complete -C 'zhub up'`], dir);
    expect(top.stdout).toBe("upload\tupload an archive, converted to a flist by the hub\n");
    expect(await complete("zhub ")).toEqual([...Object.keys(HUB_COMMAND_OPTIONS), "flist", "completion", "help"].sort());
    expect(await complete("zhub -")).toEqual(["--help", "--version", "-V"].sort());
    expect(await complete("zhub flist c")).toEqual(["cat", "check", "create"]);
    expect(await complete("zhub completion ")).toEqual(["bash", "fish", "zsh"]);
  });

  it("completes each command's options, and paths only where a command takes them", async () => {
    expect(await complete("zhub upload --")).toEqual(
      ["--async", "--help", "--hub", "--json", "--metadata", "--name", "--part-size", "--repo", "--resumable"],
    );
    expect(await complete("zhub flist ls --")).toEqual(["--help", "--json"]);
    expect(await complete("zhub ls --")).toEqual(["--help", "--hub", "--json", "--repo"]);
    expect(await complete("zhub upload ")).toEqual(["app.flist", "app.tar.gz", "rootfs/"]);
    expect(await complete("zhub flist find app.f")).toEqual(["app.flist"]);
    expect(await complete("zhub rename ")).toEqual([]);
  });
});

describe("zsh", () => {
  /** REPLY (the kind) and reply (the candidates) of _zhub_candidates for `words`, the cursor on the last one. */
  async function candidates(...words: string[]): Promise<{ kind: string; words: string[] }> {
    const script = [
      "autoload -U compinit && compinit -u -D",
      `source ${quote(scripts.zsh as string)}`,
      `words=(${words.map(quote).join(" ")})`,
      "CURRENT=$#words",
      "_zhub_candidates",
      'print -r -- "$REPLY"',
      'print -rl -- "${reply[@]}"',
    ].join("\n");
    const result = await exec("zsh", ["-f", "-c", script], dir);
    expect(result.code, result.stderr).toBe(0);
    const [kind, ...rest] = result.stdout.split("\n").filter((l) => l !== "");
    return { kind: kind as string, words: rest.map((w) => w.replace(/(?<!\\):.*$/, "").replaceAll("\\:", ":")).sort() };
  }

  it("is registered by compinit for zhub", async () => {
    const script = `autoload -U compinit && compinit -u -D; source ${quote(scripts.zsh as string)}; print -r -- $_comps[zhub]`;
    const result = await exec("zsh", ["-f", "-c", script], dir);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("_zhub\n");
  });

  it("offers commands, flist subcommands, options, shells, files", async () => {
    expect(await candidates("zhub", "up")).toEqual({
      kind: "commands",
      words: [...Object.keys(HUB_COMMAND_OPTIONS), "flist", "completion", "help", "--version", "--help"].sort(),
    });
    expect((await candidates("zhub", "flist", "c")).words).toEqual([...Object.keys(FLIST_COMMAND_OPTIONS), "--help"].sort());
    expect(await candidates("zhub", "job", "--")).toEqual({ kind: "words", words: ["--follow", "--help", "--hub", "--json", "--repo"] });
    expect(await candidates("zhub", "flist", "get", "--")).toEqual({ kind: "words", words: ["--help", "--store"] });
    expect(await candidates("zhub", "completion", "")).toEqual({ kind: "words", words: ["bash", "fish", "zsh"] });
    expect(await candidates("zhub", "upload", "")).toEqual({ kind: "files", words: [] });
    expect(await candidates("zhub", "upload", "--name", "")).toEqual({ kind: "none", words: [] });
    expect(await candidates("zhub", "rename", "")).toEqual({ kind: "none", words: [] });
  });
});
