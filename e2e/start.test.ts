/**
 * `npm start` itself (scripts/start.ts), with temporary state and free ports: its start-up lines list the embedded
 * 0-db server on HUB_BACKEND (here with a namespace and HUB_BACKEND_PASSWORD), which answers as 0-db (public reads,
 * writes with the password) and serves what the hub publishes to the real zflist; SIGTERM stops it all, the
 * backend port included. Its default output is the few lines a user needs: no stack trace (wrangler's offline
 * requests are off), one line for the migrations; started again on the same state, it serves what it published.
 * `npm run dev` runs the same script with wrangler dev. A taken backend port is refused before anything starts. (Like
 * `npm start`, it creates the
 * git-ignored `.dev.vars` when missing and otherwise only reads it.)
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawResp } from "../converter/test/support/resp-client.ts";
import { type Child, freePort, portIsFree, startChild } from "../scripts/lib/processes.ts";
import { wranglerDevArgs } from "../scripts/lib/wrangler-dev.ts";
import { fixture } from "./support/flists.ts";
import { zflistOpen } from "./support/zflist.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const NAMESPACE = "local-ns";
const PASSWORD = "local-write-pw";

let work: string;
beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-start-"));
});
afterAll(async () => {
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

/** `all`: stdout's and stderr's lines together, in the order they came. */
function npmStart(env: Record<string, string>, lines: string[], errors: string[], all: string[] = [], args: string[] = []): Child {
  return startChild(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "start.ts"), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...env },
    group: true,
    // The token printed on stdout is read back, so the lines are not redacted here.
    raw: true,
    // stdout (the service lines, URL, token) and stderr both arrive here; stderr lines are the prefixed ones.
    onLine: (line) => {
      all.push(line);
      (/^(\[|npm start:)/.test(line) ? errors : lines).push(line);
    },
  });
}

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const children = (parent: number): number[] => {
    try {
      return fs
        .readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8")
        .split(" ")
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  };
  for (const queue = [pid]; queue.length > 0; ) for (const c of children(queue.shift()!)) out.push(c), queue.push(c);
  return out;
}

/** The number of migrations of the first start's line ("npm start: D1 migrations 10 applied (10 in all)"). */
function migrationCount(errors: string[]): number {
  return Number(/\((\d+) in all\)/.exec(errors.find((l) => l.startsWith("npm start: D1 migrations")) ?? "")?.[1]);
}

async function waitFor(condition: () => boolean, child: Child, what: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (!child.running()) throw new Error(`npm start exited before ${what}:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`npm start: no ${what} after ${timeoutMs / 1000} s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("npm start (scripts/start.ts)", () => {
  it("lists the embedded 0-db server on HUB_BACKEND, which serves the published chunks; SIGTERM stops everything", async () => {
    const [hubPort, converterPort, backendPort] = [await freePort(), await freePort(), await freePort()];
    const backend = `127.0.0.1:${backendPort}/${NAMESPACE}`;
    const state = path.join(work, "state");
    const lines: string[] = [];
    const errors: string[] = [];
    const all: string[] = [];
    const child = npmStart(
      { HUB_PORT: String(hubPort), CONVERTER_PORT: String(converterPort), HUB_BACKEND: backend, HUB_BACKEND_PASSWORD: PASSWORD, HUB_PERSIST_DIR: state },
      lines,
      errors,
      all,
    );
    const log = () => [...lines, ...errors.slice(-60)].join("\n");
    let restarted: Child | undefined;
    try {
      // The token is the line after "API token …" (scripts/start.ts prints it last).
      const tokenLine = () => lines.findIndex((l) => l.startsWith("API token")) + 1;
      await waitFor(() => tokenLine() > 0 && lines.length > tokenLine(), child, "token line", 240_000, log);
      const token = lines[tokenLine()]!;
      expect(lines).toContain(
        `chunk store  0-db server listening on 127.0.0.1:${backendPort}, the backend in flists: ${backend} (public reads, writes with HUB_BACKEND_PASSWORD; files in ${path.join(state, "chunks")})`,
      );
      expect(lines).toContain(`converter    listening on http://127.0.0.1:${converterPort}`);
      const worker = lines.find((l) => l.startsWith("worker "));
      expect(worker).toMatch(new RegExp(`^worker +listening on http://127\\.0\\.0\\.1:${hubPort} \\(.*state in ${state.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)$`));
      expect(lines.join("\n")).not.toContain(PASSWORD);

      // The few lines a user needs, up to the token: no stack trace (wrangler's Request.cf fetch fails offline),
      // no banner, no migration tables (one line instead: a new state gets every migration), no request lines.
      const shown = all.slice(0, all.indexOf(token) + 1);
      const text = shown.join("\n");
      expect(shown.filter((l) => /^\s+at /.test(l) || /ENOTFOUND|Request\.cf|⛅️/.test(l)), text).toEqual([]);
      expect(shown.filter((l) => /[┌├└│]|\.sql\b/.test(l)), text).toEqual([]);
      expect(errors.filter((l) => l.startsWith("npm start: D1 migrations")), text).toEqual([
        expect.stringMatching(/^npm start: D1 migrations ([1-9]\d*) applied \(\1 in all\)$/),
      ]);
      expect(shown.length, text).toBeLessThanOrEqual(15);

      // 0-db's answers on the backend address.
      const conn = await RawResp.connect(backendPort);
      try {
        expect((await conn.call("PING"))!.toString()).toBe("+PONG\r\n");
        expect((await conn.call("SELECT", NAMESPACE))!.toString()).toBe("+OK\r\n");
        expect((await conn.call("SET", "k", "v"))!.toString()).toBe("-Namespace is in read-only mode\r\n");
        expect((await conn.call("SELECT", NAMESPACE, "wrong"))!.toString()).toBe("-Access denied\r\n");
        expect((await conn.call("SELECT", NAMESPACE, PASSWORD))!.toString()).toBe("+OK\r\n");
      } finally {
        conn.close();
      }

      // What the hub publishes is read through the flist's backend by the real zflist.
      const res = await fetch(`http://127.0.0.1:${hubPort}/api/flist/me/upload/app.tar.gz`, {
        method: "PUT",
        headers: { authorization: `bearer ${token}` },
        body: fs.readFileSync(fixture("tree-overlay.tar.gz")),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const download = await fetch(`http://127.0.0.1:${hubPort}/local/app.flist`);
      const flist = path.join(work, "app.flist");
      fs.writeFileSync(flist, Buffer.from(await download.arrayBuffer()));
      const z = await zflistOpen(flist);
      try {
        expect(await z.metadata("backend")).toEqual({ host: "127.0.0.1", port: backendPort, namespace: NAMESPACE });
        expect(await z.check()).toMatchObject({ success: true, response: { failure: 0 } });
      } finally {
        await z.close();
      }

      child.process.kill("SIGTERM");
      const exit = await child.exited;
      expect(exit.code, log()).toBe(0);
      expect(errors).toContain("npm start: SIGTERM, stopping");
      for (const port of [backendPort, converterPort, hubPort]) expect(await portIsFree(port), `port ${port}`).toBe(true);

      // Started again on the same state: the catalog and the flist are still there, the migrations up to date.
      const again: string[] = [];
      const againErrors: string[] = [];
      restarted = npmStart(
        { HUB_PORT: String(hubPort), CONVERTER_PORT: String(converterPort), HUB_BACKEND: backend, HUB_BACKEND_PASSWORD: PASSWORD, HUB_PERSIST_DIR: state },
        again,
        againErrors,
      );
      const againToken = () => again.findIndex((l) => l.startsWith("API token")) + 1;
      await waitFor(() => againToken() > 0 && again.length > againToken(), restarted, "token line after the restart", 240_000, () => [...again, ...againErrors].join("\n"));
      expect(againErrors).toContain(`npm start: D1 migrations up to date (${migrationCount(errors)} in all)`);
      const listing = (await (await fetch(`http://127.0.0.1:${hubPort}/api/flist/local`)).json()) as { name: string }[];
      expect(listing.map((e) => e.name)).toContain("app.flist");
      const again2 = Buffer.from(await (await fetch(`http://127.0.0.1:${hubPort}/local/app.flist`)).arrayBuffer());
      expect(again2.equals(fs.readFileSync(flist))).toBe(true);
      restarted.process.kill("SIGTERM");
      expect((await restarted.exited).code).toBe(0);
    } finally {
      await child.stop("SIGKILL", 1000);
      await restarted?.stop("SIGKILL", 1000);
    }
  });

  it("stops everything and exits 1 when workerd goes away under it (a crash, an OOM kill)", async () => {
    const [hubPort, converterPort, backendPort] = [await freePort(), await freePort(), await freePort()];
    const lines: string[] = [];
    const errors: string[] = [];
    const child = npmStart(
      { HUB_PORT: String(hubPort), CONVERTER_PORT: String(converterPort), HUB_BACKEND: `127.0.0.1:${backendPort}`, HUB_PERSIST_DIR: path.join(work, "crash") },
      lines,
      errors,
    );
    const log = () => [...lines, ...errors.slice(-40)].join("\n");
    try {
      await waitFor(() => lines.some((l) => l.startsWith("API token")), child, "token line", 240_000, log);
      const workerd = descendants(child.pid).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd"));
      expect(workerd, "a workerd process under npm start").toBeDefined();
      process.kill(workerd!, "SIGKILL");
      const exit = await Promise.race([child.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
      expect(exit, log()).toEqual({ code: 1, signal: null });
      expect(errors).toContain("npm start: the Worker's runtime (workerd) exited, stopping");
      for (const port of [hubPort, converterPort, backendPort]) expect(await portIsFree(port), `port ${port}`).toBe(true);
    } finally {
      await child.stop("SIGKILL", 1000);
    }
  });

  it("npm run dev is the same script with --dev (wrangler dev); unknown arguments are refused", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe("tsx scripts/start.ts");
    expect(pkg.scripts.dev).toBe("tsx scripts/start.ts --dev");
    // wrangler dev keeps its conveniences (inspector and live reload on: no flag turns them off), the same state.
    const args = wranglerDevArgs({ host: "127.0.0.1", port: 0, persistDir: "/tmp/state", vars: { A: "1" } }, 1234);
    expect(args.slice(0, 2)).toEqual(["dev", "--local"]);
    expect(args).toEqual(expect.arrayContaining(["--port", "1234", "--var", "A:1", "--persist-to", "/tmp/state"]));
    expect(args.filter((a) => /inspector|live-reload/.test(a))).toEqual([]);
    // Through npm itself: `npm run dev` reaches scripts/start.ts (the HUB_LOG check comes before anything starts).
    const lines: string[] = [];
    const errors: string[] = [];
    const dev = startChild("npm", ["run", "--silent", "dev"], { env: { PATH: process.env.PATH, HOME: process.env.HOME, HUB_LOG: "loud" }, onLine: (l) => (/^npm start:/.test(l) ? errors : lines).push(l) });
    expect((await dev.exited).code).toBe(1);
    expect(errors).toEqual(['npm start: HUB_LOG must be "verbose" or unset, got "loud"']);
    const bogus: string[] = [];
    const start = npmStart({ HUB_PERSIST_DIR: path.join(work, "bogus") }, [], bogus, [], ["--inspect"]);
    expect((await start.exited).code).toBe(1);
    expect(bogus).toEqual(['npm start: unknown argument "--inspect" (only --dev: the Worker under wrangler dev, as `npm run dev`)']);
  });

  it("refuses an unknown HUB_LOG before starting anything", async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const [hubPort, converterPort] = [await freePort(), await freePort()];
    const child = npmStart({ HUB_PORT: String(hubPort), CONVERTER_PORT: String(converterPort), HUB_LOG: "loud", HUB_PERSIST_DIR: path.join(work, "log") }, lines, errors);
    try {
      expect((await child.exited).code).toBe(1);
      expect(errors).toEqual(['npm start: HUB_LOG must be "verbose" or unset, got "loud"']);
      expect(lines).toEqual([]);
    } finally {
      await child.stop("SIGKILL", 1000);
    }
  });

  it("refuses to start when the HUB_BACKEND port is taken, before starting anything", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const lines: string[] = [];
    const errors: string[] = [];
    const [hubPort, converterPort] = [await freePort(), await freePort()];
    const child = npmStart(
      { HUB_PORT: String(hubPort), CONVERTER_PORT: String(converterPort), HUB_BACKEND: `127.0.0.1:${port}`, HUB_PERSIST_DIR: path.join(work, "refused") },
      lines,
      errors,
    );
    try {
      const exit = await child.exited;
      expect(exit.code).toBe(1);
      expect(errors).toContain(
        `npm start: cannot serve the chunks on HUB_BACKEND 127.0.0.1:${port}: 127.0.0.1:${port} is already in use (set HUB_BACKEND to another host:port, or HUB_CHUNK_STORE to the 0-db listening there)`,
      );
      expect(lines).toEqual([]);
      // Refused before the migrations, the converter and wrangler.
      expect(errors.filter((l) => /^\[(migrations|converter|wrangler)\]/.test(l))).toEqual([]);
    } finally {
      await child.stop("SIGKILL", 1000);
      await new Promise((r) => taken.close(r));
    }
  });
});
