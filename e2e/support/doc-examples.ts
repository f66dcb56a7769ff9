/**
 * The tested examples of a Markdown page (docs/cli.md): fenced blocks whose info string is `sh zhub-example`
 * (optionally followed by `checkout`: run in the checkout instead of the scratch directory). Inside a block, a line
 * starting with `$ ` is a command; the lines after it, up to the next command, are what it prints (stdout and stderr
 * in order). Expected lines must all appear, in order, among the command's output lines (other lines may come
 * between them); in each, `…` stands for any text, `$NAME` / `${NAME}` for the value of that variable of the
 * environment given to the run, runs of spaces for any run of spaces; a line that is only `…` stands for any lines.
 *
 * A block runs as one bash script (`set -o pipefail`, stderr into stdout, stdin from /dev/null), so its commands
 * share variables and the working directory; every command must exit 0.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";

export interface DocCommand {
  command: string;
  expected: string[];
}

export interface DocBlock {
  /** The `##` heading the block is under. */
  section: string;
  /** Line number of the opening fence (1-based). */
  line: number;
  inCheckout: boolean;
  commands: DocCommand[];
}

export interface CommandRun {
  command: string;
  status: number | null;
  output: string;
}

const FENCE = /^```sh zhub-example((?: [a-z]+)*)\s*$/;

export function docBlocks(file: string): DocBlock[] {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const blocks: DocBlock[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const fence = FENCE.exec(line);
    if (!fence) continue;
    const attributes = (fence[1] ?? "").trim().split(" ").filter((a) => a !== "");
    for (const a of attributes) if (a !== "checkout") throw new Error(`${file}:${i + 1}: unknown zhub-example attribute '${a}'`);
    const block: DocBlock = { section, line: i + 1, inCheckout: attributes.includes("checkout"), commands: [] };
    for (i++; i < lines.length && lines[i] !== "```"; i++) {
      const text = lines[i] as string;
      if (text.startsWith("$ ")) block.commands.push({ command: text.slice(2), expected: [] });
      else if (text.trim() !== "") {
        const last = block.commands.at(-1);
        if (last === undefined) throw new Error(`${file}:${i + 1}: output before the block's first command`);
        last.expected.push(text);
      }
    }
    if (i >= lines.length) throw new Error(`${file}:${block.line}: unterminated block`);
    blocks.push(block);
  }
  return blocks;
}

const START = "\u001ezhub-example-start";
const END = "\u001ezhub-example-end";

/** Runs every command of the block in one bash process; answers each command's status and output. */
export function runBlock(block: DocBlock, options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<CommandRun[]> {
  const script = ["set -o pipefail", "exec 2>&1"];
  block.commands.forEach((c, i) => {
    script.push(`printf '\\n${START} %d\\n' ${i}`, c.command, `printf '\\n${END} %d %d\\n' ${i} "$?"`);
  });
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-c", script.join("\n")], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(
        block.commands.map((c, i) => {
          const start = out.indexOf(`\n${START} ${i}\n`);
          const end = out.indexOf(`\n${END} ${i} `, start);
          if (start < 0) return { command: c.command, status: null, output: "(never ran)" };
          if (end < 0) return { command: c.command, status: null, output: `${out.slice(start)}\n(the block stopped here)` };
          const status = Number(/^(\d+)/.exec(out.slice(end + `\n${END} ${i} `.length))?.[1]);
          return { command: c.command, status, output: out.slice(start + `\n${START} ${i}\n`.length, end) };
        }),
      );
    });
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const squeeze = (text: string) => text.trim().replace(/\s+/g, " ");

function matcher(expected: string, env: Record<string, string>): RegExp {
  const parts = squeeze(expected).split(/(…|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)/);
  const pattern = parts
    .map((part) => {
      if (part === "…") return ".*";
      const name = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(part)?.[1];
      if (name !== undefined && env[name] !== undefined) return escape(squeeze(env[name]));
      return escape(part);
    })
    .join("");
  return new RegExp(`^${pattern}$`);
}

/** The expected lines the output lacks (in order), or an empty list. */
export function missingLines(expected: string[], output: string, env: Record<string, string>): string[] {
  const lines = output.split("\n").map(squeeze).filter((l) => l !== "");
  let at = 0;
  const missing: string[] = [];
  for (const want of expected) {
    if (want.trim() === "…") continue;
    const re = matcher(want, env);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    if (found < 0) missing.push(want);
    else at = found + 1;
  }
  return missing;
}
