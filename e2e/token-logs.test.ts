/**
 * Tokens never reach a log (docs/names.md "Tokens and logs"), on the real local runtime: a token sent in the legacy
 * `GET /token/<token>` path, in an Authorization header or in a `?token=` parameter appears nowhere in what the
 * stack keeps (the relayed lines of the Worker's runtime, request lines included, and of the converter), nor in
 * what `npm start` (scripts/start.ts) relays (the lean runtime writes no log files, unlike `wrangler dev`). The
 * request lines are there, redacted: the runtime's and the Worker's own JSON lines (protocol/logging.ts, shown
 * readably by scripts/lib/relay.ts), so the check would see a token if one got through. A token sent as the request
 * id is not taken as one (nor echoed).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../worker/src/auth/tokens.ts";
import { readDevVars } from "../scripts/lib/devvars.ts";
import { freePort } from "../scripts/lib/processes.ts";
import { type Stack, startStack } from "./support/stack.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The requests that carry `token`: the legacy page, the API with the header, a query parameter, an error path. */
async function requestsWith(hubUrl: string, token: string): Promise<void> {
  for (const [url, init] of [
    [`${hubUrl}/token/${token}`, {}],
    [`${hubUrl}/api/flist/me`, { headers: { Authorization: `bearer ${token}` } }],
    [`${hubUrl}/api/flist?token=${encodeURIComponent(token)}`, {}],
    [`${hubUrl}/token/${token}?token=${encodeURIComponent(token)}&next=/`, {}],
    [`${hubUrl}/api/flist?id=1`, { headers: { "x-request-id": token } }],
    [`${hubUrl}/api/flist/me/upload`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: "x" }],
  ] as [string, RequestInit][]) {
    const res = await fetch(url, init);
    await res.body?.cancel();
    expect(res.status, url).toBeLessThan(500);
    expect(res.headers.get("x-request-id"), url).not.toBe(token);
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the e2e stack (with its request lines on)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ requestLines: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("keeps the request lines with the token redacted, and the token nowhere", async () => {
    const token = await stack.token("log-check");
    await requestsWith(stack.hubUrl, token);
    // The last request's line (lines come in order): every line of the requests above is in by then.
    await until("the request lines", () => stack.logs().includes("/api/flist/me/upload"));
    const logs = stack.logs();
    expect(logs).not.toContain(token);
    // Not even a recognisable part of it (the signature's first 40 characters).
    expect(logs).not.toContain(token.slice(0, 40));
    expect(logs).toMatch(/GET.* \/token\/<redacted> /);
    // The Worker's JSON line of the same request, its path redacted.
    expect(logs).toMatch(/"msg":"request answered".*"path":"\/token\/<redacted>"/);
  });
});

describe("npm start (scripts/start.ts)", () => {
  it("relays the Worker's and the converter's lines without the token", async () => {
    const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-start-logs-"));
    // The backend too on a free port: 9900 may be another run's (the machine is shared).
    const [port, converterPort, backendPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "start.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        HUB_PORT: String(port),
        CONVERTER_PORT: String(converterPort),
        HUB_BACKEND: `127.0.0.1:${backendPort}`,
        HUB_PERSIST_DIR: path.join(work, "state"),
        // Request lines are relayed only then (scripts/lib/relay.ts).
        HUB_LOG: "verbose",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    for (const stream of [child.stdout!, child.stderr!]) readline.createInterface({ input: stream }).on("line", (l) => output.push(l));
    try {
      // Ready once it printed the API token of the local user, on the line after "API token for the local user".
      const tokenLine = () => output.findIndex((l) => l.startsWith("API token for the local user")) + 1;
      await until("npm start to be ready", () => tokenLine() > 0 && output.length > tokenLine(), 180_000);
      const seed = readDevVars().HUB_SIGNING_SEED;
      expect(seed).toMatch(/^[0-9a-f]{64}$/i);
      const token = await signToken(seed!, "log-check");
      await requestsWith(`http://127.0.0.1:${port}`, token);
      await until("the relayed request lines", () => output.some((l) => l.includes("/api/flist/me/upload")));
      const text = output.join("\n");
      expect(text).not.toContain(token.slice(0, 40));
      expect(text).toMatch(/\[worker\].*GET.* \/token\/<redacted> /);
      // The Worker's JSON line, as relay.ts shows it: time, level, message, fields.
      expect(text).toMatch(/\[worker\] \d\d:\d\d:\d\d info +request answered \(.*path=\/token\/<redacted> /);
    } finally {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      await fs.promises.rm(work, { recursive: true, force: true });
    }
  });
});
