/**
 * `zhub` hub commands in-process (run() with a captured Io) against a small node:http peer standing in for the
 * hub's routes: configuration file (mode 0600, environment over file), login/whoami, the hub's error messages and
 * exit codes, the events stream resumed after the hub closes it, resumable uploads resumed where they stopped.
 * The real hub is exercised by e2e/zhub.test.ts.
 */
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Io } from "../src/cli/io.ts";
import { run } from "../src/cli/run.ts";
import { HubClient, errorOf } from "../src/cli/hub/client.ts";
import { readConfigFile, settings, writeConfigFile } from "../src/cli/hub/config.ts";
import { followEvents } from "../src/cli/hub/jobs.ts";
import { targetName } from "../src/cli/hub/upload.ts";

const TOKEN = "c2VjcmV0LXRva2VuLWZvci10ZXN0cw==";

function captureIo(): Io & { stdout: () => string; stderrText: () => string } {
  let out = "";
  let err = "";
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  (stderr as unknown as PassThrough).on("data", (d: Buffer) => (err += d.toString()));
  return {
    out: async (d) => void (out += typeof d === "string" ? d : Buffer.from(d).toString()),
    err: async (t) => void (err += t),
    stderr,
    stdout: () => out,
    stderrText: () => err,
  };
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;
let server: http.Server;
let hub: string;
let handler: Handler;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      handler(req, res, Buffer.concat(parts));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  hub = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
const saved = { ...process.env };
beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-cli-hub-"));
  process.env.ZHUB_CONFIG = path.join(dir, "cfg", "config.json");
  delete process.env.ZHUB_HUB;
  delete process.env.ZHUB_TOKEN;
  delete process.env.ZHUB_BACKEND;
  seen.length = 0;
});
afterEach(async () => {
  process.env = { ...saved };
  await fs.promises.rm(dir, { recursive: true, force: true });
});

/** A job's links, as the hub answers them (worker/src/jobs/read.ts `jobUrls`). */
const links = (id: string) => ({ self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events`, listen: `/listen/${id}` });

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

/** The hub's `GET /api/flist/me`: the acting repository, or the auth errors. */
const meRoute: Handler = (req, res) => {
  if (req.url !== "/api/flist/me") return json(res, 404, { status: "error", message: "not found" });
  if (req.headers.authorization !== `bearer ${TOKEN}`) return json(res, 401, { status: "error", message: "invalid signature" });
  const repo = req.headers["x-hub-repository"];
  if (repo !== undefined && repo !== "acme") return json(res, 403, { status: "error", message: `not a member of repository "${repo}"` });
  json(res, 200, { status: "success", payload: { username: repo ?? "alice" } });
};

describe("configuration", () => {
  it("is written with mode 0600 (directory 0700) and read back; the environment wins over it", async () => {
    await writeConfigFile({ hub: "http://hub.example:8787", token: "t1" });
    const file = process.env.ZHUB_CONFIG!;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(await readConfigFile(file)).toEqual({ hub: "http://hub.example:8787", token: "t1" });
    expect(await settings()).toMatchObject({ hub: "http://hub.example:8787", token: "t1" });
    expect(await settings({ ...process.env, ZHUB_HUB: "https://other.example/", ZHUB_TOKEN: "t2" })).toMatchObject({ hub: "https://other.example", token: "t2" });
  });

  it("refuses a file that is not a zhub configuration", async () => {
    fs.mkdirSync(path.dirname(process.env.ZHUB_CONFIG!), { recursive: true });
    fs.writeFileSync(process.env.ZHUB_CONFIG!, "{not json");
    await expect(settings()).rejects.toThrow(/is not JSON: run zhub login again/);
  });
});

describe("zhub login / whoami", () => {
  it("verifies the token, stores it, never prints it; whoami and --repo use it", async () => {
    handler = meRoute;
    const io = captureIo();
    expect(await run(["login", "--hub", hub, "--token", TOKEN], io)).toBe(0);
    expect(io.stdout()).toContain(`logged in to ${hub} as alice`);
    expect(io.stdout() + io.stderrText()).not.toContain(TOKEN);
    expect(JSON.parse(fs.readFileSync(process.env.ZHUB_CONFIG!, "utf8"))).toEqual({ hub, token: TOKEN, user: "alice" });

    const who = captureIo();
    expect(await run(["whoami"], who)).toBe(0);
    expect(who.stdout()).toBe(`alice on ${hub}\n`);
    const org = captureIo();
    expect(await run(["whoami", "--repo", "acme"], org)).toBe(0);
    expect(org.stdout()).toBe(`acme on ${hub}\n`);
    expect(seen.at(-1)?.headers["x-hub-repository"]).toBe("acme");
  });

  it("exit 1 with the hub's message on a refusal; nothing stored", async () => {
    handler = meRoute;
    const io = captureIo();
    expect(await run(["login", "--hub", hub, "--token", "wrong"], io)).toBe(1);
    expect(io.stderrText()).toBe("zhub: login: invalid signature\n");
    expect(fs.existsSync(process.env.ZHUB_CONFIG!)).toBe(false);

    process.env.ZHUB_HUB = hub;
    process.env.ZHUB_TOKEN = TOKEN;
    const refused = captureIo();
    expect(await run(["whoami", "--repo", "other"], refused)).toBe(1);
    expect(refused.stderrText()).toBe('zhub: whoami: not a member of repository "other"\n');
  });

  it("names an unreachable hub; says when nobody is logged in", async () => {
    const io = captureIo();
    expect(await run(["whoami", "--hub", "http://127.0.0.1:1"], io)).toBe(1);
    expect(io.stderrText()).toContain("not logged in");
    process.env.ZHUB_TOKEN = TOKEN;
    // A port nobody listens on (taken, then freed).
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = captureIo();
    expect(await run(["whoami", "--hub", `http://127.0.0.1:${port}`], down)).toBe(1);
    expect(down.stderrText()).toBe(`zhub: whoami: cannot reach the hub at http://127.0.0.1:${port} (ECONNREFUSED)\n`);
  });
});

describe("usage", () => {
  it("exit 2 for wrong invocations, 0 for help", async () => {
    for (const args of [["upload"], ["link", "a"], ["promote", "noslash", "x"], ["ls", "--follow"], ["upload", path.join(dir, "x.tar.gz"), "--metadata", "novalue"]]) {
      const io = captureIo();
      expect(await run(args, io), args.join(" ")).toBe(2);
      expect(io.stderrText()).toMatch(/^zhub: /);
    }
    const help = captureIo();
    expect(await run(["upload", "--help"], help)).toBe(0);
    expect(help.stdout()).toContain("zhub <command>");
    const flistHelp = captureIo();
    expect(await run(["flist", "create", "--help"], flistHelp)).toBe(0);
    expect(flistHelp.stdout()).toContain("usage: zhub flist <command>");
  });

  it("names that are no command are refused, also those of Object.prototype", async () => {
    for (const args of [["toString"], ["constructor"], ["flist", "hasOwnProperty"], ["flist", "__proto__"]]) {
      const io = captureIo();
      expect(await run(args, io), args.join(" ")).toBe(2);
      expect(io.stderrText()).toMatch(/^zhub: unknown (flist )?command '/);
    }
  });

  it("--version, -V and version print the project's version", async () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V", "version"]) {
      const io = captureIo();
      expect(await run([flag], io)).toBe(0);
      expect(io.stdout()).toBe(`zhub ${version}\n`);
    }
  });

  it("push without a backend, to a hub that does not tell it, says how to give it", async () => {
    process.env.ZHUB_TOKEN = TOKEN;
    const io = captureIo();
    expect(await run(["push", dir, "--hub", hub], io)).toBe(2);
    expect(io.stderrText()).toContain("--backend host:port[/namespace]");
  });

  it("target names", () => {
    expect(targetName("/x/app.tar.gz", undefined)).toBe("app");
    expect(targetName("ubuntu:18.04.tgz", undefined)).toBe("ubuntu:18.04");
    expect(targetName("a.tar.gz", "b.flist")).toBe("b");
  });

  it("the hub's message from an error answer, else its first bytes", () => {
    expect(errorOf(404, JSON.stringify({ status: "error", message: "source not found" })).message).toBe("source not found");
    expect(errorOf(502, "<html>\n<h1>Bad gateway</h1>").message).toBe("the hub answered 502: <html> <h1>Bad gateway</h1>");
  });
});

describe("job events", () => {
  it("resumes after the hub closes the stream (Last-Event-ID), ends at the final event", async () => {
    const frames = [
      { id: 1, data: { status: "update", message: "Job queued", progress: 0 } },
      { id: 2, data: { status: "update", message: "Building", progress: 40 } },
      { id: 3, data: { status: "update", message: "Image ready !", progress: 100 } },
      { id: 4, data: { status: "info", info: { filename: "x.flist", file: "x.flist", flist: {} } } },
    ];
    const lastIds: string[] = [];
    const running = { id: "job-1", kind: "tar", user: "alice", repository: "alice", name: "x.flist", status: "running", progress: 40, message: "Building", attempts: 1, created: 1, updated: 2, finished: null, result: null, links: links("job-1") };
    handler = (req, res) => {
      if (req.url === "/api/jobs/job-1") return json(res, 200, { status: "success", payload: running });
      const after = Number(req.headers["last-event-id"] ?? 0);
      lastIds.push(String(req.headers["last-event-id"]));
      res.writeHead(200, { "content-type": "text/event-stream" });
      // Two frames per connection, then the hub closes (as its lifetime cap does).
      const batch = frames.filter((f) => f.id > after).slice(0, 2);
      res.end(`: ping\n\n${batch.map((f) => `id: ${f.id}\ndata: ${JSON.stringify(f.data)}\n\n`).join("")}retry: 10\n\n`);
    };
    const events = [];
    for await (const e of followEvents(new HubClient({ hub }), "job-1")) events.push(e);
    expect(events.map((e) => e.status)).toEqual(["update", "update", "update", "info"]);
    expect(lastIds).toEqual(["0", "2"]);
  });
});

describe("job events, the final event lost", () => {
  it("stops when the stream ends and the job is over", async () => {
    let streams = 0;
    handler = (req, res) => {
      if (req.url === "/api/jobs/job-2") {
        return json(res, 200, { status: "success", payload: { id: "job-2", kind: "tar", user: "a", repository: "a", name: "y.flist", status: "failed", progress: 10, message: "boom", attempts: 1, created: 1, updated: 2, finished: 2, result: null, links: links("job-2") } });
      }
      streams++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`id: 1\ndata: ${JSON.stringify({ status: "update", message: "Starting", progress: 0 })}\n\n`);
    };
    const events = [];
    for await (const e of followEvents(new HubClient({ hub }), "job-2")) events.push(e);
    expect(events).toHaveLength(1);
    expect(streams).toBe(1);
  });
});

describe("streamed upload", () => {
  it("shows the hub's answer when it refuses the body before reading it, and stops sending", async () => {
    // A raw peer: answers the PUT with 413 as soon as the headers arrive, never reads the body, drops the
    // connection later. It has no GET /api/limits (as the original hub), so zhub streams archives up to 95 MiB.
    const answer = JSON.stringify({ status: "error", message: "archive larger than 1000 bytes: use the resumable protocol POST /api/flist/me/uploads" });
    const requests: string[] = [];
    const early = net.createServer((socket) => {
      socket.once("data", (head: Buffer) => {
        requests.push(head.toString("latin1").split("\r\n")[0] ?? "");
        if (head.toString("latin1").startsWith("GET /api/limits ")) {
          const missing = JSON.stringify({ status: "error", message: "not found" });
          socket.end(`HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${missing.length}\r\n\r\n${missing}`);
          return;
        }
        socket.pause();
        socket.write(`HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`);
        setTimeout(() => socket.destroy(), 300);
      });
    });
    await new Promise<void>((r) => early.listen(0, "127.0.0.1", () => r()));
    try {
      const archive = path.join(dir, "big.tar.gz");
      fs.writeFileSync(archive, Buffer.alloc(32 * 1024 * 1024, 1));
      process.env.ZHUB_TOKEN = TOKEN;
      const io = captureIo();
      const url = `http://127.0.0.1:${(early.address() as net.AddressInfo).port}`;
      expect(await run(["upload", archive, "--hub", url], io)).toBe(1);
      expect(io.stderrText()).toBe("zhub: upload: archive larger than 1000 bytes: use the resumable protocol POST /api/flist/me/uploads\n");
      expect(requests).toEqual(["GET /api/limits HTTP/1.1", "PUT /api/flist/me/upload/big.tar.gz?async=1 HTTP/1.1"]);
    } finally {
      await new Promise<void>((r) => early.close(() => r()));
    }
  });
});

describe("resumable upload", () => {
  it("sends only the parts the hub lacks when run again", async () => {
    const archive = path.join(dir, "big.tar.gz");
    const partSize = 5 * 1024 * 1024;
    fs.writeFileSync(archive, Buffer.alloc(partSize * 2 + 1000, 7));
    const parts = new Map<number, number>();
    let failPart2 = true;
    let completed = 0;
    handler = (req, res, body) => {
      const url = req.url ?? "";
      if (req.method === "POST" && url === "/api/flist/me/uploads") return json(res, 201, { status: "success", payload: { id: "u1", name: "big.flist", partSize } });
      if (req.method === "GET" && url === "/api/flist/me/uploads/u1") {
        return json(res, 200, { status: "success", payload: { status: "open", partSize, parts: [...parts].map(([part, size]) => ({ part, size })) } });
      }
      const part = /^\/api\/flist\/me\/uploads\/u1\/(\d)$/.exec(url);
      if (req.method === "PUT" && part) {
        if (part[1] === "2" && failPart2) return json(res, 400, { status: "error", message: "part 2 not stored: broken" });
        parts.set(Number(part[1]), body.length);
        return json(res, 200, { status: "success", payload: { part: Number(part[1]), size: body.length } });
      }
      if (req.method === "POST" && url.startsWith("/api/flist/me/uploads/u1/complete")) {
        completed++;
        return json(res, 202, { status: "success", payload: { job: "job-9", status: "queued", name: "big.flist" } });
      }
      json(res, 404, { status: "error", message: `unexpected ${req.method} ${url}` });
    };
    process.env.ZHUB_TOKEN = TOKEN;
    const first = captureIo();
    expect(await run(["upload", archive, "--hub", hub, "--resumable", "--async"], first)).toBe(1);
    expect(first.stderrText()).toContain("part 2 not stored: broken");
    const sentFirst = seen.filter((s) => s.method === "PUT").map((s) => s.url);
    expect(sentFirst).toContain("/api/flist/me/uploads/u1/1");

    failPart2 = false;
    seen.length = 0;
    const second = captureIo();
    expect(await run(["upload", archive, "--hub", hub, "--resumable", "--async"], second)).toBe(0);
    expect(second.stdout()).toBe("job job-9\n");
    const puts = seen.filter((s) => s.method === "PUT").map((s) => s.url).sort();
    // Part 1 (and part 3 if the first run stored it) are not sent again.
    expect(puts).toContain("/api/flist/me/uploads/u1/2");
    expect(puts).not.toContain("/api/flist/me/uploads/u1/1");
    expect(seen.some((s) => s.method === "POST" && s.url === "/api/flist/me/uploads")).toBe(false);
    expect(completed).toBe(1);
    expect([...parts.values()]).toEqual(expect.arrayContaining([partSize, partSize, 1000]));
  });
});
