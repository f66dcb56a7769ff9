/**
 * `npm start`: the whole hub on this machine, no account, no external service.
 *
 *  1. local secrets in `.dev.vars` (signing seed + internal secret), generated once;
 *  2. D1 migrations applied to the local database;
 *  3. `wrangler dev` on 127.0.0.1:$HUB_PORT (default 8787) with local D1/R2/Queues, state under `.wrangler/`
 *     (or $HUB_PERSIST_DIR);
 *  4. once it answers HTTP: the URL on a line of its own, then a ready API token for the user $HUB_LOCAL_USER
 *     (default `local`) on the last line;
 *  5. Ctrl-C / SIGTERM stop everything.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { signToken } from "../worker/src/auth/tokens.ts";
import { ROOT, ensureDevVars } from "./lib/devvars.ts";

const HOST = "127.0.0.1";
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const READY_TIMEOUT_MS = 180_000;

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function portFromEnv(): number {
  const raw = process.env.HUB_PORT ?? "8787";
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) fail(`HUB_PORT must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

/** Refuse to start when the port is taken: the readiness probe would otherwise talk to someone else's server. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => fail(`${HOST}:${port} is already in use (set HUB_PORT to use another port)`));
    server.listen(port, HOST, () => server.close(() => resolve()));
  });
}

/** Child output, line by line, prefixed so that our own lines (URL, token) stand alone. */
function prefixLines(child: ChildProcess, prefix: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    readline.createInterface({ input: stream }).on("line", (line) => console.error(`${prefix} ${line}`));
  }
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) fail("wrangler dev exited before answering");
    try {
      // Any HTTP answer means the Worker is up; the path does not matter.
      await fetch(`${url}/api/flist/me`, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  fail(`no HTTP answer from ${url} after ${READY_TIMEOUT_MS / 1000} s`);
}

/** Parent pid of `pid` from /proc (Linux); undefined elsewhere. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 4, after the parenthesised command name (which may itself contain spaces or parentheses).
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `npm start` runs us as npm → sh → tsx → node. A SIGTERM sent to npm alone kills npm and sh without telling
 * tsx, so we also stop when the processes that started us go away.
 */
function onAncestorExit(callback: () => void): void {
  const ancestors = [process.ppid];
  const grandParent = parentOf(process.ppid);
  if (grandParent !== undefined) ancestors.push(grandParent);
  const greatGrandParent = grandParent !== undefined ? parentOf(grandParent) : undefined;
  if (greatGrandParent !== undefined) ancestors.push(greatGrandParent);
  setInterval(() => {
    for (const pid of ancestors) {
      try {
        process.kill(pid, 0);
      } catch {
        callback();
        return;
      }
    }
  }, 1000).unref();
}

async function main(): Promise<void> {
  const port = portFromEnv();
  const user = process.env.HUB_LOCAL_USER || "local";
  const persist = process.env.HUB_PERSIST_DIR ? ["--persist-to", path.resolve(process.env.HUB_PERSIST_DIR)] : [];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" };
  // The seed and internal secret reach the Worker through .dev.vars; never from this process's environment.
  delete childEnv.HUB_SIGNING_SEED;
  delete childEnv.INTERNAL_SECRET;

  const { vars, created } = ensureDevVars();
  if (created.length > 0) console.error(`npm start: generated ${created.join(", ")} in .dev.vars`);
  const seed = vars.HUB_SIGNING_SEED ?? fail(".dev.vars has no HUB_SIGNING_SEED");

  await assertPortFree(port);

  console.error("npm start: applying D1 migrations to the local database");
  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
    cwd: ROOT,
    env: childEnv,
    // Progress to stderr: stdout carries only the URL and the token.
    stdio: ["ignore", process.stderr, "inherit"],
  });
  if (migrate.status !== 0) fail(`wrangler d1 migrations apply failed (exit ${migrate.status ?? migrate.signal})`);

  // Own process group, so that stopping takes wrangler's workerd children down with it.
  const dev = spawn(
    WRANGLER,
    [
      "dev",
      "--local",
      "--ip",
      HOST,
      "--port",
      String(port),
      "--show-interactive-dev-session=false",
      ...persist,
    ],
    { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  prefixLines(dev, "[wrangler]");

  let stopping = false;
  const stop = (signal: NodeJS.Signals | "parent exited") => {
    if (stopping || dev.pid === undefined) return;
    stopping = true;
    console.error(`npm start: ${signal}, stopping`);
    try {
      process.kill(-dev.pid, "SIGTERM");
    } catch {
      // already gone
    }
    setTimeout(() => {
      try {
        if (dev.pid !== undefined) process.kill(-dev.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000).unref();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP"));
  onAncestorExit(() => stop("parent exited"));
  dev.on("exit", (code, signal) => {
    if (!stopping) console.error(`npm start: wrangler dev exited (${code ?? signal})`);
    process.exit(stopping ? 0 : (code ?? 1));
  });

  const url = `http://${HOST}:${port}`;
  await waitUntilAnswering(url, dev);
  const token = await signToken(seed, user);
  console.log("");
  console.log("zos-hub is running at:");
  console.log(url);
  console.log(`API token for the local user "${user}" (Authorization: bearer <token>; Ctrl-C stops the hub):`);
  console.log(token);
}

await main();
