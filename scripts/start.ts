/**
 * `npm start`: the whole hub on this machine, no account, no external service.
 *
 *  1. local secrets in `.dev.vars` (signing seed + internal secret), generated once;
 *  2. D1 migrations applied to the local database (one line saying how many; wrangler's output only if it fails);
 *  3. the converter service on 127.0.0.1:$CONVERTER_PORT (default $HUB_PORT + 1), writing chunks to
 *     $HUB_CHUNK_STORE (default: a file store in `<state>/chunks`), flists naming the public backend $HUB_BACKEND
 *     (default: wrangler.toml's); a file store is served by an embedded 0-db server on $HUB_BACKEND (in this
 *     process; the converter writes through it), so real clients (nodes, zflist) read those chunks (docs/zdb.md);
 *  4. the Worker, bundled once, in workerd through Miniflare in this process (scripts/lib/runtime.ts: no wrangler
 *     dev, whose proxy, inspector and request logging cost more than the requests) on a private port with local
 *     D1/R2/Queues, state under `.wrangler/state` (or $HUB_PERSIST_DIR, the layout wrangler dev uses: `npm run dev`
 *     sees the same data), pointed at the converter, and in front of it on 127.0.0.1:$HUB_PORT (default 8787) the
 *     local front (scripts/lib/front.ts: what Cloudflare's edge does in production, keeping slow downloads whole);
 *     its cron (the job lease sweep) fired every minute. `npm run dev` (`--dev`) runs `wrangler dev` there instead
 *     (scripts/lib/wrangler-dev.ts: inspector, live reload), on the same state;
 *  5. once the Worker answers HTTP: one line per service, the URL on a line of its own, then a ready API token for
 *     the user $HUB_LOCAL_USER (default `local`) on the last line;
 *  6. Ctrl-C / SIGTERM stop everything (also when a service dies, or when the `npm` process is killed).
 *
 * Of the services' output, stderr relays what a user must see (scripts/lib/relay.ts): the Worker's warnings and
 * errors, the converter's job lines. HUB_LOG=verbose relays all of it, request lines and the migrations' tables
 * included.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { redactUrl } from "../converter/src/store/url.ts";
import { signToken } from "../worker/src/auth/tokens.ts";
import { startChunkServer } from "./lib/chunk-server.ts";
import { ROOT, ensureDevVars, wranglerVar } from "./lib/devvars.ts";
import { LOCAL_WORKER_VARS } from "./lib/local-vars.ts";
import { applyMigrations, describeMigrations } from "./lib/migrations.ts";
import { converterLine, logMode, readable, runtimeLine, wranglerLines } from "./lib/relay.ts";
import { type Child, converterCommand, portIsFree, startChild, waitForHttp } from "./lib/processes.ts";
import { type Runtime, type RuntimeOptions, startRuntime } from "./lib/runtime.ts";
import { startWranglerDev } from "./lib/wrangler-dev.ts";

const HOST = "127.0.0.1";

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name] ?? String(fallback);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) fail(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

/** Refuse to start when a port is taken: the readiness probes would otherwise talk to someone else's server. */
async function assertPortFree(port: number, variable: string): Promise<void> {
  if (!(await portIsFree(port, HOST))) fail(`${HOST}:${port} is already in use (set ${variable} to use another port)`);
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
  const argv = process.argv.slice(2);
  const unknown = argv.find((a) => a !== "--dev");
  if (unknown !== undefined) fail(`unknown argument ${JSON.stringify(unknown)} (only --dev: the Worker under wrangler dev, as \`npm run dev\`)`);
  const dev = argv.includes("--dev");
  const port = portFromEnv("HUB_PORT", 8787);
  const converterPort = portFromEnv("CONVERTER_PORT", port + 1);
  const user = process.env.HUB_LOCAL_USER || "local";
  const persistDir = process.env.HUB_PERSIST_DIR ? path.resolve(process.env.HUB_PERSIST_DIR) : undefined;
  const stateDir = persistDir ?? path.join(ROOT, ".wrangler", "state");
  const chunkStore = process.env.HUB_CHUNK_STORE || pathToFileURL(path.join(stateDir, "chunks")).href;
  const backend = process.env.HUB_BACKEND || wranglerVar("HUB_BACKEND") || fail("no HUB_BACKEND in the environment or wrangler.toml");
  const url = `http://${HOST}:${port}`;
  const converterUrl = `http://${HOST}:${converterPort}`;
  const verbose = (logMode(process.env.HUB_LOG) ?? fail(`HUB_LOG must be "verbose" or unset, got ${JSON.stringify(process.env.HUB_LOG)}`)) === "verbose";

  const { vars, created } = ensureDevVars();
  if (created.length > 0) console.error(`npm start: generated ${created.join(", ")} in .dev.vars`);
  const seed = vars.HUB_SIGNING_SEED ?? fail(".dev.vars has no HUB_SIGNING_SEED");
  const internalSecret = vars.INTERNAL_SECRET ?? fail(".dev.vars has no INTERNAL_SECRET");

  await assertPortFree(port, "HUB_PORT");
  await assertPortFree(converterPort, "CONVERTER_PORT");
  const backendPassword = process.env.HUB_BACKEND_PASSWORD || null;
  const chunkServer = await startChunkServer({
    chunkStore,
    backend,
    password: backendPassword,
    onError: (err) => console.error(`[0-db server] ${err.message}`),
  }).catch((err: Error) => fail(err.message));
  if (!chunkServer && backendPassword) {
    console.error("npm start: HUB_BACKEND_PASSWORD is ignored: HUB_CHUNK_STORE is not a file store, so no 0-db server is started");
  }
  const converterStore = chunkServer?.url ?? chunkStore;

  // Progress to stderr: stdout carries only the service lines, the URL and the token. wrangler prints its tables
  // once per migration: kept back, unless it fails (then they tell why) or HUB_LOG=verbose. They run while the
  // converter starts and the Worker is bundled; the Worker starts on the database once they are done.
  const migrationLines: string[] = [];
  const migrations = applyMigrations(persistDir, (line) => (verbose ? console.error(`[migrations] ${line}`) : migrationLines.push(line))).then(
    (result) => console.error(`npm start: D1 migrations ${describeMigrations(result)}`),
    (err: Error) => {
      for (const line of migrationLines) console.error(`[migrations] ${line}`);
      // The message's first line: the rest is the end of the output just printed.
      throw new Error((err.message.split("\n")[0] ?? err.message).replace(/:$/, ""));
    },
  );
  // Awaited by the runtime; this only keeps a failure from counting as unhandled before then.
  migrations.catch(() => undefined);

  const children: Child[] = [];
  let runtime: Runtime | undefined;
  let stopping = false;
  const stop = (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    console.error(`npm start: ${reason}, stopping`);
    void Promise.all([runtime?.close().catch(() => undefined), ...children.map((c) => c.stop("SIGTERM", 10_000)), chunkServer?.close()]).then(() => process.exit(code));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP"));
  onAncestorExit(() => stop("parent exited"));
  const watch = (child: Child, name: string) => {
    void child.exited.then(({ code, signal }) => {
      if (!stopping) stop(`${name} exited (${code ?? signal})`, 1);
    });
  };

  const [command, args] = converterCommand();
  const converter = startChild(command, args, {
    env: {
      ...process.env,
      HUB_URL: url,
      HUB_CHUNK_STORE: converterStore,
      HUB_BACKEND: backend,
      INTERNAL_SECRET: internalSecret,
      CONVERTER_HOST: HOST,
      CONVERTER_PORT: String(converterPort),
    },
    onLine: (line) => {
      if (verbose || converterLine(line)) console.error(`[converter] ${readable(line)}`);
    },
  });
  children.push(converter);
  watch(converter, "the converter");

  try {
    // The Worker in this process (scripts/lib/runtime.ts): secrets from .dev.vars, the converter's address, the
    // backend and the local sign-in over wrangler.toml's vars.
    const runtimeOptions: RuntimeOptions = {
      host: HOST,
      port,
      persistDir,
      vars: {
        HUB_CONVERTER_URL: converterUrl,
        HUB_BACKEND: backend,
        // The website's one-click sign-in, offered only on a loopback hub (the real ThreeFold Connect cannot send
        // a browser back to 127.0.0.1).
        HUB_LOCAL_SIGNIN_USER: user,
        ...LOCAL_WORKER_VARS,
        // HUB_REQUEST_COST=true npm start: answers carry their D1/R2/cache counts (bench/lib/request-cost.ts reads them).
        ...(process.env.HUB_REQUEST_COST ? { HUB_REQUEST_COST: process.env.HUB_REQUEST_COST } : {}),
      },
      requestLines: verbose,
      fireCrons: true,
      before: migrations,
    };
    if (dev) {
      const shown = verbose ? () => true : wranglerLines();
      runtime = await startWranglerDev(
        { ...runtimeOptions, onLine: (line) => shown(line) && console.error(`[wrangler] ${readable(line)}`) },
        (reason) => stop(reason, 1),
      );
    } else {
      runtime = await startRuntime({
        ...runtimeOptions,
        onLine: (line, kind) => {
          if (verbose || runtimeLine(line, kind)) console.error(`[worker] ${readable(line)}`);
        },
        onExit: (reason) => {
          if (!stopping) stop(reason, 1);
        },
      });
    }
    if (stopping) return;
    await waitForHttp(`${converterUrl}/health`, converter, "the converter", 60_000, true);
  } catch (err) {
    if (!stopping) stop((err as Error).message, 1);
    return;
  }

  const token = await signToken(seed, user);
  const shown = (dir: string) => (path.relative(ROOT, dir).startsWith("..") ? dir : path.relative(ROOT, dir));
  console.log("");
  if (chunkServer) {
    const access = backendPassword ? "public reads, writes with HUB_BACKEND_PASSWORD" : "reads and writes open";
    console.log(`chunk store  0-db server listening on ${chunkServer.server.address}, the backend in flists: ${backend} (${access}; files in ${shown(chunkServer.dir)})`);
  } else {
    console.log(`chunk store  ${redactUrl(chunkStore)} (public backend in flists: ${backend})`);
  }
  console.log(`converter    listening on ${converterUrl}`);
  const behind = `${dev ? "wrangler dev" : "workerd"} on ${runtime.workerUrl.replace(/^https?:\/\//, "")}`;
  console.log(`worker       listening on ${url} (${behind} behind the local front, state in ${shown(stateDir)})`);
  console.log("");
  console.log("zos-hub is running at:");
  console.log(url);
  console.log(`Website: open ${url} and use "Sign in" for the one-click local sign-in as "${user}".`);
  console.log(`API token for the local user "${user}" (Authorization: bearer <token>; Ctrl-C stops the hub):`);
  console.log(token);
}

await main();
