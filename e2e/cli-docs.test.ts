/**
 * docs/cli.md as typed: every `sh zhub-example` block (e2e/support/doc-examples.ts) runs in bash against the real
 * local stack, with the zhub that its "Install" block packs (`npm run pack:zhub`) and installs (`npm install -g`,
 * npm's global prefix in a temporary directory) first on PATH. `$HUB` is the stack's URL; `npm run token` signs
 * with the stack's seed (`HUB_SIGNING_SEED`). HOME is temporary too, so the developer's own zhub login and shell
 * files are never read or touched.
 *
 * Then the pipes: the installed zhub and `npm run token` stop quietly, status 0 and no stack trace, when the reader
 * closes the pipe before they are done writing (outputs larger than a pipe holds).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/devvars.ts";
import { type CommandRun, type DocBlock, docBlocks, missingLines, runBlock } from "./support/doc-examples.ts";
import { type PrebuildMirror, startPrebuildMirror } from "./support/prebuild-mirror.ts";
import { type Stack, startStack } from "./support/stack.ts";

const DOC = path.join(ROOT, "docs", "cli.md");
const BLOCKS = docBlocks(DOC);
const INSTALL = BLOCKS[0] as DocBlock;
/** npm's install of the packed zhub (its registry dependencies are in npm's cache after `npm ci`). */
const INSTALL_TIMEOUT_MS = 240_000;
const BLOCK_TIMEOUT_MS = 240_000;
/** More than a pipe holds (64 KiB on Linux) plus what `head` reads before it exits. */
const PIPE_OVERFLOW_BYTES = 256 * 1024;
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let stack: Stack;
let temp: string;
let prefix: string;
let work: string;
let env: Record<string, string>;
let installRuns: CommandRun[];
let mirror: PrebuildMirror;

function baseEnv(): Record<string, string> {
  const home = os.homedir();
  return {
    PATH: [path.join(prefix, "bin"), path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    HOME: path.join(temp, "home"),
    TMPDIR: path.join(temp, "tmp"),
    LANG: "C.UTF-8",
    // npm's global installs go to the temporary prefix; its settings (e.g. nodedir for node-gyp) and its cache
    // (warm from `npm ci`) stay the developer's, whatever HOME says.
    NPM_CONFIG_PREFIX: prefix,
    NPM_CONFIG_USERCONFIG: process.env.npm_config_userconfig ?? path.join(home, ".npmrc"),
    NPM_CONFIG_CACHE: process.env.npm_config_cache ?? path.join(home, ".npm"),
    NPM_CONFIG_PREFER_OFFLINE: "true",
    NPM_CONFIG_UPDATE_NOTIFIER: "false",
    NPM_CONFIG_FUND: "false",
    NPM_CONFIG_AUDIT: "false",
    ...mirror.env,
    // How this machine reaches the npm registry (a proxy, its CA) stays the developer's too.
    ...Object.fromEntries(
      ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"]
        .flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])),
    ),
  };
}

beforeAll(async () => {
  temp = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-docs-"));
  prefix = path.join(temp, "prefix");
  work = path.join(temp, "work");
  for (const dir of [prefix, work, path.join(temp, "home"), path.join(temp, "tmp")]) fs.mkdirSync(dir, { recursive: true });
  mirror = await startPrebuildMirror();
  expect(INSTALL.section).toBe("Install");
  expect(INSTALL.commands.map((c) => c.command).join("\n")).toContain("npm install -g");
  // The install needs no hub: it runs while the stack starts.
  const install = runBlock(INSTALL, { cwd: ROOT, env: baseEnv(), timeoutMs: INSTALL_TIMEOUT_MS });
  [stack, installRuns] = await Promise.all([startStack(), install]);
  env = { ...baseEnv(), HUB: stack.hubUrl, HUB_SIGNING_SEED: stack.seed };
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await stack?.stop();
  await mirror?.close();
  if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
});

function expectRuns(block: DocBlock, runs: CommandRun[]): void {
  block.commands.forEach((c, i) => {
    const run = runs[i] as CommandRun;
    const where = `docs/cli.md:${block.line} (${block.section}): $ ${c.command}\n--- output ---\n${run.output}`;
    expect(run.status, where).toBe(0);
    expect(missingLines(c.expected, run.output, env), where).toEqual([]);
    expect(run.output, where).not.toMatch(/EPIPE|^\s+at .*:\d+:\d+\)?$/m);
  });
}

/** `bash -c script` with the docs' environment; answers the status and both outputs. */
function sh(script: string, cwd = work): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-c", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("docs/cli.md", () => {
  it("has the blocks this test relies on", () => {
    expect(BLOCKS.map((b) => b.section)).toEqual(
      expect.arrayContaining(["Install", "Log in", "Publish", "Catalog", "Local flist tools", "Shell completion", "Exit codes and pipes"]),
    );
    expect(BLOCKS.every((b) => b.commands.length > 0)).toBe(true);
  });

  it(`Install (line ${INSTALL.line}): npm run pack:zhub, npm install -g, zhub --version`, async () => {
    expectRuns(INSTALL, installRuns);
    // better-sqlite3 installed its prebuilt binary (no compilation): one download, of this Node's build.
    expect(mirror.requests).toEqual([expect.stringMatching(new RegExp(`-node-v${process.versions.modules}-${process.platform}-${process.arch}\\.tar\\.gz$`))]);
    const installed = await sh("command -v zhub && zhub --version && zhub -V");
    expect(installed.stdout).toBe(`${path.join(prefix, "bin", "zhub")}\nzhub ${version}\nzhub ${version}\n`);
    // The packed CLI, not the checkout's: a bundle beside its own dependencies, no TypeScript.
    const real = fs.realpathSync(path.join(prefix, "bin", "zhub"));
    expect(real).toBe(path.join(prefix, "lib", "node_modules", "zhub", "zhub.mjs"));
  });

  for (const block of BLOCKS.slice(1)) {
    it(`${block.section} (line ${block.line})`, async () => {
      const runs = await runBlock(block, { cwd: block.inCheckout ? ROOT : work, env, timeoutMs: BLOCK_TIMEOUT_MS });
      expectRuns(block, runs);
    }, BLOCK_TIMEOUT_MS + 10_000);
  }
});

describe("a reader that closes the pipe early", () => {
  it("zhub ls | head -1: status 0, the first line, nothing on stderr", async () => {
    // Links with long names to a flist with a long name: a listing larger than a pipe holds.
    const auth = await stack.auth("pipe-bob");
    const source = `${"s".repeat(240)}.flist`;
    const promote = await fetch(`${stack.hubUrl}/api/flist/me/promote/alice/app.flist/${source}`, { method: "POST", headers: auth });
    expect(promote.status, await promote.text()).toBe(200);
    const names = Array.from({ length: 300 }, (_, i) => `${String(i).padStart(4, "0")}${"l".repeat(236)}.flist`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(
        names.slice(i, i + 10).map(async (name) => {
          const res = await fetch(`${stack.hubUrl}/api/flist/me/${source}/link/${name}`, { method: "POST", headers: auth });
          expect(res.status, await res.text()).toBe(200);
        }),
      );
    }
    const whole = await sh("zhub ls pipe-bob | wc -c");
    expect(Number(whole.stdout)).toBeGreaterThan(PIPE_OVERFLOW_BYTES / 2);

    const run = await sh('zhub ls pipe-bob | head -1; echo "status ${PIPESTATUS[0]}"');
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(new RegExp(`^${names[0]}\\s+symlink\\s+.*-> ${source}\\nstatus 0\\n$`));
  });

  it("zhub flist find | head -1 and zhub flist cat | head -c: status 0, nothing on stderr", async () => {
    const tree = path.join(work, "many");
    fs.mkdirSync(tree);
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(tree, `${String(i).padStart(5, "0")}-${"f".repeat(100)}`), "");
    fs.writeFileSync(path.join(tree, "big.bin"), Buffer.alloc(4 * 1024 * 1024, 7));
    const created = await sh('zhub flist create --store "file://$PWD/many-chunks" many many.flist');
    expect(created.status, created.stderr).toBe(0);
    const whole = await sh("zhub flist find many.flist | wc -c");
    expect(Number(whole.stdout)).toBeGreaterThan(PIPE_OVERFLOW_BYTES);

    const find = await sh('zhub flist find many.flist | head -1; echo "status ${PIPESTATUS[0]}"');
    expect(find.stderr).toBe("");
    expect(find.stdout).toBe(`/00000-${"f".repeat(100)}\nstatus 0\n`);
    const cat = await sh('zhub flist cat many.flist /big.bin --store "file://$PWD/many-chunks" | head -c 3 | od -An -tu1; echo "status ${PIPESTATUS[0]}"');
    expect(cat.stderr).toBe("");
    expect(cat.stdout.replace(/\s+/g, " ").trim()).toBe("7 7 7 status 0");
  });

  it("npm run -s token -- alice | true: the token script exits 0 without a stack trace", async () => {
    // `true` exits at once, so the token's write meets a closed pipe (as with `| zhub login` when zhub is missing).
    const run = await sh('npm run -s token -- alice | true; echo "status ${PIPESTATUS[0]}"', ROOT);
    expect(run.stdout).toBe("status 0\n");
    expect(run.stderr).toContain('token for "alice", signed with HUB_SIGNING_SEED from the environment');
    expect(run.stderr).not.toMatch(/EPIPE|Error|^\s+at /m);
  });
});
