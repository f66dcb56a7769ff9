/**
 * `zhub flist …` as a user runs it: the package bin (node converter/bin/zhub.js) in a child process, against a
 * real redis-server standing in for 0-db. Outputs are compared with zflist's recorded views of the reference
 * flists made from the same sources.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDumps } from "../src/flist/metadata.ts";
import { makeTar } from "./ingest-archives.ts";
import { FIXTURES, expectedCases } from "./support/flist-fixtures.ts";
import { type RunningRedis, startRedis } from "./support/redis.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/zhub.js");

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function zhub(...args: string[]): Promise<Run> {
  return zhubWithInput(undefined, ...args);
}

function zhubWithInput(input: Buffer | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "flist", ...args], { stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    if (input) child.stdin?.end(input);
    const out: Buffer[] = [];
    let err = "";
    child.stdout?.on("data", (d: Buffer) => out.push(d));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

const expectedText = (flist: string, file: string) => fs.readFileSync(path.join(FIXTURES, `${flist}.flist.expected`, file));

/** sha256 of each file of a fixture source tree, from its manifest. */
function manifestSha(tree: string, member: string): string {
  const rows = fs.readFileSync(path.join(FIXTURES, `${tree}.manifest.tsv`), "utf8").split("\n");
  const row = rows.find((r) => r.startsWith(`${member}\t`));
  return (row as string).split("\t")[12] as string;
}

let redis: RunningRedis;
let work: string;
let mainFlist: string;
let overlayFlist: string;

beforeAll(async () => {
  redis = await startRedis();
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-cli-"));
  mainFlist = path.join(work, "main.flist");
  overlayFlist = path.join(work, "overlay.flist");
  const main = await zhub("create", "--store", redis.url, "--backend", "127.0.0.1:9911", path.join(FIXTURES, "tree-main.tar.gz"), mainFlist);
  // Nothing but progress lines (converter/src/cli/progress.ts prints one when a run takes over a second, as it
  // may on a busy machine).
  expect(main.stderr.split("\n").filter((l) => l && !/^create: [\d.]+\/[\d.]+ MiB .* \(\d+ s\)$/.test(l))).toEqual([]);
  expect(main.code).toBe(0);
  expect(main.stdout.toString()).toMatch(/24 directories, 36 files, 6 symlinks, 4 specials, 6249124 bytes\nchunks: 44 \(40 written, 4 skipped\)/);
  const overlay = await zhub("create", "--store", redis.url, "--backend", "127.0.0.1:9911", path.join(FIXTURES, "tree-overlay.tar.gz"), overlayFlist);
  expect(overlay.code).toBe(0);
});

afterAll(async () => {
  await redis?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

describe("zhub flist views", () => {
  it("find: JSON and text byte-identical to zflist's", async () => {
    const json = await zhub("find", "--json", mainFlist);
    expect(json.code).toBe(0);
    expect(json.stdout.toString()).toBe(expectedText("main", "find.json").toString());
    const text = await zhub("find", mainFlist);
    expect(text.stdout.toString()).toBe(expectedText("main", "find.txt").toString());
  });

  it("ls: the root as zflist prints it; JSON equal to zflist's but for the real special types", async () => {
    const text = await zhub("ls", mainFlist);
    expect(text.stdout.toString()).toBe(expectedText("main", "ls-root.txt").toString());
    for (const c of expectedCases("main", "ls.json").filter((x) => ["/", "/dev", "/names"].includes(x.path as string))) {
      const run = await zhub("ls", "--json", mainFlist, c.path as string);
      const got = JSON.parse(run.stdout.toString()) as { response: Array<{ name: string; type: string }> };
      const want = structuredClone(c.output) as { response: Array<{ name: string; type: string }> };
      if (c.path === "/dev") {
        // zflist stores every special as a socket; ours keep their type.
        expect(want.response.map((e) => e.type)).toEqual(["unix socket", "unix socket", "unix socket", "unix socket"]);
        expect(got.response.map((e) => e.type)).toEqual(["character device", "block device", "character device", "fifo"]);
        want.response.forEach((e, i) => (e.type = got.response[i]?.type as string));
      }
      expect(got, `ls ${c.path}`).toEqual(want);
    }
    const missing = await zhub("ls", "--json", mainFlist, "/no/such/dir");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout.toString())).toEqual(
      expectedCases("main", "errors.json").find((c) => c.command === "zflist ls /no/such/dir")?.output,
    );
  });

  it("stat: JSON equal to zflist's except `created` (the mtime here); text shows device numbers", async () => {
    const cases = expectedCases("main", "stat.json").filter((c) =>
      ["/data/random-2200000.bin", "/links/long-target", "/dev/big-minor", "/private/secret.key"].includes(c.path as string),
    );
    expect(cases).toHaveLength(4);
    for (const c of cases) {
      const run = await zhub("stat", "--json", mainFlist, c.path as string);
      const got = JSON.parse(run.stdout.toString()) as { response: { created: number; modified: number } };
      const want = structuredClone(c.output) as { response: { created: number } };
      expect(got.response.created).toBe(got.response.modified);
      want.response.created = got.response.created;
      expect(got, `stat ${c.path}`).toEqual(want);
    }
    // On zflist's own flist the output is byte for byte what zflist printed (jansson layout, key order).
    for (const c of expectedCases("main", "stat.json").filter((x) => ["/links/dangling", "/dev/pipe", "/data/random-2200000.bin", "/names"].includes(x.path as string))) {
      const run = await zhub("stat", "--json", path.join(FIXTURES, "main.flist"), c.path as string);
      expect(run.stdout.toString(), `stat ${c.path}`).toBe(`${jsonDumps(c.output)}\n`);
    }
    const text = await zhub("stat", mainFlist, "/dev/big-minor");
    expect(text.stdout.toString()).toContain("Access: (620/crw--w----)  UID: 0 (root), GID: 5 (tty)\n");
    expect(text.stdout.toString()).toContain("Device: 136,300\n");
    const root = await zhub("stat", mainFlist, "/");
    expect(root.code).toBe(1);
    expect(root.stderr).toContain("no such file or directory");
  });
});

describe("zhub flist get/cat/check", () => {
  it("get and cat give back the source bytes", async () => {
    for (const member of ["data/random-2200000.bin", "data/compressible-3000000.txt", "hard/second-name.txt", "names/日本/語.txt"]) {
      const out = path.join(work, "got.bin");
      const get = await zhub("get", mainFlist, `/${member}`, out, "--store", redis.url);
      expect(get.code, get.stderr).toBe(0);
      const sha = manifestSha("tree-main", `./${member.startsWith("hard/second") ? "hard/original.txt" : member}`);
      expect(crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex"), member).toBe(sha);
      const cat = await zhub("cat", mainFlist, `/${member}`, "--store", redis.url);
      expect(crypto.createHash("sha256").update(cat.stdout).digest("hex"), member).toBe(sha);
    }
    const empty = await zhub("cat", mainFlist, "/data/empty.txt", "--store", redis.url);
    expect(empty.code).toBe(0);
    expect(empty.stdout.length).toBe(0);
    const dir = await zhub("get", mainFlist, "/data", path.join(work, "x"), "--store", redis.url);
    expect(dir.code).toBe(1);
    expect(dir.stderr).toContain("not a regular file");
  });

  it("check: exit 0 when every chunk is there, 1 naming the files once a chunk is deleted", async () => {
    const ok = await zhub("check", "--store", redis.url, mainFlist);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toContain("  Failure        : 0\n");
    const client = new Redis(redis.port, "127.0.0.1");
    try {
      // The first chunk of compressible-3000000.txt: its 5 full pieces share this key.
      expect(await client.del(Buffer.from("bdf816078c59883944625411d97a37de", "hex"))).toBe(1);
    } finally {
      client.disconnect();
    }
    const text = await zhub("check", "--store", redis.url, mainFlist);
    expect(text.code).toBe(1);
    expect(text.stdout.toString()).toContain("missing: /data/compressible-3000000.txt: bdf816078c59883944625411d97a37de\n");
    expect(text.stdout.toString()).toContain("  Failure        : 1\n");
    const json = await zhub("check", "--json", "--store", redis.url, mainFlist);
    expect(json.code).toBe(1);
    const response = (JSON.parse(json.stdout.toString()) as { response: { failure: number; missing: unknown } }).response;
    expect(response.failure).toBe(1);
    expect(response.missing).toEqual([{ path: "/data/compressible-3000000.txt", chunks: ["bdf816078c59883944625411d97a37de"] }]);
    // Recreate it so the test leaves the store whole.
    const again = await zhub("create", "--store", redis.url, path.join(FIXTURES, "tree-main.tar.gz"), path.join(work, "again.flist"));
    expect(again.stdout.toString()).toContain("(1 written,");
    expect((await zhub("check", "--store", redis.url, mainFlist)).code).toBe(0);
  });
});

describe("zhub flist merge/metadata", () => {
  it("merge: main + overlay lists like zflist's merged.flist", async () => {
    const merged = path.join(work, "merged.flist");
    const run = await zhub("merge", merged, mainFlist, overlayFlist);
    expect(run.code, run.stderr).toBe(0);
    const find = await zhub("find", "--json", merged);
    expect(find.stdout.toString()).toBe(expectedText("merged", "find.json").toString());
    const usage = await zhub("merge", merged, mainFlist);
    expect(usage.code).toBe(2);
  });

  it("metadata of zflist's meta.flist: byte for byte what zflist printed", async () => {
    const meta = path.join(FIXTURES, "meta.flist");
    expect((await zhub("metadata", "--json", meta)).stdout.toString()).toBe(expectedText("meta", "metadata.json").toString());
    for (const key of ["readme", "environ", "port"]) {
      const run = await zhub("metadata", "--json", meta, key);
      expect(run.stdout.toString(), key).toBe(expectedText("meta", `metadata-${key}.json`).toString());
    }
  });

  it("metadata: list, get, set", async () => {
    const file = path.join(work, "meta.flist");
    fs.copyFileSync(mainFlist, file);
    expect((await zhub("metadata", file)).stdout.toString()).toBe("backend\n");
    const backend = await zhub("metadata", "--json", file, "backend");
    expect(JSON.parse(backend.stdout.toString())).toEqual(JSON.parse(expectedText("main", "metadata-backend.json").toString()));
    expect((await zhub("metadata", file, "maintainer", "someone@example.invalid")).code).toBe(0);
    expect((await zhub("metadata", file)).stdout.toString()).toBe("backend\nmaintainer\n");
    expect((await zhub("metadata", file, "maintainer")).stdout.toString()).toBe("someone@example.invalid\n");
    const missing = await zhub("metadata", file, "nope");
    expect(missing.code).toBe(1);
  });
});

describe("zhub flist create", () => {
  it("refuses a hostile archive with the entry and the rule, writing nothing", async () => {
    const archive = path.join(work, "evil.tar");
    fs.writeFileSync(archive, await makeTar([{ name: "ok.txt", data: "fine" }, { name: "../../etc/cron.d/evil", data: "x" }]));
    const out = path.join(work, "evil.flist");
    const run = await zhub("create", "--store", redis.url, archive, out);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`"../../etc/cron.d/evil": '..' path components are not allowed [rule: dot-dot]`);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(work).filter((f) => f.startsWith("evil.flist"))).toEqual([]);
  });

  it("creates from a directory, and without a store (chunks computed, none kept)", async () => {
    const dir = path.join(work, "src");
    fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
    fs.writeFileSync(path.join(dir, "sub", "a.txt"), "hello world\n");
    const out = path.join(work, "dir.flist");
    const run = await zhub("create", "--json", dir, out);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout.toString()) as { stats: { regular: number; directory: number; pipeline: { chunks: number } } };
    expect(summary.stats).toMatchObject({ regular: 1, directory: 1, pipeline: { chunks: 1 } });
    const stat = await zhub("stat", "--json", out, "/sub/a.txt");
    // docs/flist-format.md §3.7: "hello world\n".
    expect(JSON.parse(stat.stdout.toString()).response.chunks).toEqual([
      { key: "a5147f6e7cac3a7076f942cb5e00d896", decipher: "c0cdb4699cdaa9eea4c563a934f1d52b" },
    ]);
  });

  it("--json reports CPU seconds by stage (docs/benchmarks.md \"flist create\")", async () => {
    const dir = path.join(work, "cpu-src");
    fs.mkdirSync(dir, { recursive: true });
    // Two chunks of text and two of random bytes: every stage has work to do.
    fs.writeFileSync(path.join(dir, "text.txt"), "every stage has work to do\n".repeat(40_000));
    fs.writeFileSync(path.join(dir, "random.bin"), crypto.randomBytes(1024 * 1024));
    const run = await zhub("create", "--json", dir, path.join(work, "cpu.flist"));
    expect(run.code, run.stderr).toBe(0);
    const { cpu } = JSON.parse(run.stdout.toString()) as {
      cpu: { total: number; main: { startup: number; ingest: number; write: number }; hashing: number; compression: number; encryption: number; workerOverhead: number; other: number };
    };
    expect(cpu.hashing).toBeGreaterThan(0);
    expect(cpu.compression).toBeGreaterThan(0);
    expect(cpu.encryption).toBeGreaterThan(0);
    for (const v of [cpu.main.startup, cpu.main.ingest, cpu.main.write, cpu.workerOverhead]) expect(v).toBeGreaterThanOrEqual(0);
    // The process total covers every part (the main thread's /proc figure counts in 10 ms ticks).
    expect(cpu.total).toBeGreaterThan(cpu.hashing + cpu.compression + cpu.encryption);
    expect(cpu.total + 0.02).toBeGreaterThanOrEqual(cpu.main.startup + cpu.main.ingest + cpu.main.write);
  });

  it("reads an archive from stdin with '-'", async () => {
    const out = path.join(work, "stdin.flist");
    const run = await zhubWithInput(fs.readFileSync(path.join(FIXTURES, "tree-overlay.tar.gz")), "create", "--store", redis.url, "-", out);
    expect(run.code, run.stderr).toBe(0);
    expect((await zhub("find", "--json", out)).stdout.toString()).toBe(expectedText("overlay", "find.json").toString());
  });

  it("usage errors exit 2", async () => {
    expect((await zhub("create", "only-one-arg")).code).toBe(2);
    expect((await zhub("create", "--backend", "nope", "a", "b")).code).toBe(2);
    expect((await zhub("ls", "--store", "file:///x", mainFlist)).code).toBe(2);
    expect((await zhub("frobnicate")).code).toBe(2);
  });
});
