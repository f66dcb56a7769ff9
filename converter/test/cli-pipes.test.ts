/**
 * The checkout's `zhub` (node converter/bin/zhub.js) in real shell pipelines whose reader stops early: a closed
 * stdout ends it quietly with status 0, a closed stderr only drops the diagnostics (the status still tells).
 * The outputs are larger than a pipe holds, so the writes do meet the closed pipe. The packed zhub is checked
 * the same way by e2e/cli-docs.test.ts.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ZHUB = `${process.execPath} ${path.resolve(import.meta.dirname, "../bin/zhub.js")}`;
/** More than a pipe holds (64 KiB on Linux) plus what `head` reads before it exits. */
const PIPE_OVERFLOW_BYTES = 256 * 1024;

let dir: string;

function sh(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-c", script], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ZHUB: ZHUB },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-pipes-"));
  const tree = path.join(dir, "tree");
  fs.mkdirSync(tree);
  for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(tree, `${String(i).padStart(5, "0")}-${"f".repeat(100)}`), "");
  fs.writeFileSync(path.join(tree, "big.bin"), Buffer.alloc(2 * 1024 * 1024, 9));
  const created = await sh('$ZHUB flist create --store "file://$PWD/chunks" tree tree.flist');
  expect(created.status, created.stderr).toBe(0);
});

afterAll(async () => {
  if (dir) await fs.promises.rm(dir, { recursive: true, force: true });
});

describe("a reader that closes the pipe early", () => {
  it("flist find | head -1: the first line, status 0, nothing on stderr", async () => {
    expect(Number((await sh("$ZHUB flist find tree.flist | wc -c")).stdout)).toBeGreaterThan(PIPE_OVERFLOW_BYTES);
    const run = await sh('$ZHUB flist find tree.flist | head -1; echo "status ${PIPESTATUS[0]}"');
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`/00000-${"f".repeat(100)}\nstatus 0\n`);
  });

  it("flist cat | head -c 2 and flist find --json | true: status 0, nothing on stderr", async () => {
    const cat = await sh('$ZHUB flist cat tree.flist /big.bin --store "file://$PWD/chunks" | head -c 2 | od -An -tu1; echo "status ${PIPESTATUS[0]}"');
    expect(cat.stderr).toBe("");
    expect(cat.stdout.replace(/\s+/g, " ").trim()).toBe("9 9 status 0");
    const json = await sh('$ZHUB flist find tree.flist --json | true; echo "status ${PIPESTATUS[0]}"');
    expect(json.stderr).toBe("");
    expect(json.stdout).toBe("status 0\n");
  });

  it("a closed stderr drops the message, the failure's status stays", async () => {
    // stderr into a pipe whose reader is gone; stdout to the test.
    const run = await sh('{ $ZHUB flist find missing.flist 2>&1 >&3 3>&- | true; echo "status ${PIPESTATUS[0]}"; } 3>&1');
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("status 1\n");
  });
});
