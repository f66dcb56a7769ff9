/**
 * `zhub <hub command>`: login, whoami, upload, push, merge, ls, link, rename, promote, tag, untag, rm, job. Each
 * returns an exit code (0 success, 1 failure: the hub's message on stderr, 2 usage). `--hub URL` and `--repo R`
 * (act for an organisation: `X-Hub-Repository`) apply to every command.
 */
import fs from "node:fs";
import nodePath from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseBackend } from "../../ingest/index.ts";
import { type Io, UsageError } from "../io.ts";
import { HubClient, path } from "./client.ts";
import { configPath, normaliseHub, readConfigFile, settings, writeConfigFile } from "./config.ts";
import { type Job, acceptedSchema, getJob, jobLine, waitJob } from "./jobs.ts";
import { push } from "./push.ts";
import { targetName, uploadArchive } from "./upload.ts";

export const HUB_USAGE = `usage: zhub <command> [options]   (hub commands; zhub flist --help for the local flist tools)

  login [--hub URL] [--token T]         store the hub address and an API token (read from stdin without --token)
  whoami                                the repository the token acts for
  upload <archive.tar.gz> [--name N] [--metadata key=value]... [--async] [--resumable] [--part-size MiB]
  push <dir|archive> [--name N] [--backend host:port[/ns]] [--threads N] [--async]
                                        build the flist locally, upload only the chunks the hub lacks, publish it
  merge <target> <repo/name> <repo/name>... [--async]   (the first source wins on name clashes)
  ls [repo] [--json]                    the repository's flists, links and tags (default: your own)
  link <source|repo/source> <link>      a link in your repository (to another repository's flist: crosslink)
  rename <source> <destination>
  promote <repo/source> <name>          copy another repository's flist into yours
  tag <tag> <repo/source> [<name>]      add repo/source to your tag (as <name>, default its own name)
  untag <tag> <repo/source> [<name>]
  rm <name>
  job <id> [--follow] [--json]          a job's state; --follow draws its progress until it ends

Every command: --hub URL (default: the login's, $ZHUB_HUB), --repo R (act for an organisation you belong to).
Configuration: $ZHUB_CONFIG or ~/.config/zhub/config.json (mode 0600); $ZHUB_TOKEN overrides the stored token.
`;

/** Every option of the hub commands (`parseArgs` form). */
export const HUB_OPTIONS = {
  hub: { type: "string" },
  repo: { type: "string" },
  token: { type: "string" },
  name: { type: "string" },
  metadata: { type: "string", multiple: true },
  async: { type: "boolean" },
  resumable: { type: "boolean" },
  "part-size": { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  follow: { type: "boolean" },
  json: { type: "boolean" },
} as const;
type OptionName = keyof typeof HUB_OPTIONS;
type Values = {
  [K in OptionName]?: (typeof HUB_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof HUB_OPTIONS)[K]["type"] extends "boolean" ? boolean : string;
};
/** Options of every hub command. */
export const HUB_COMMON_OPTIONS = ["hub", "repo"] as const satisfies readonly OptionName[];

/** The options each hub command accepts besides the common ones: parse() refuses the others, completion offers these. */
export const HUB_COMMAND_OPTIONS = {
  login: ["token", "backend"],
  whoami: ["json"],
  upload: ["name", "metadata", "async", "resumable", "part-size", "json"],
  push: ["name", "backend", "threads", "async", "json"],
  merge: ["async", "json"],
  ls: ["json"],
  link: [],
  rename: [],
  promote: [],
  tag: [],
  untag: [],
  rm: [],
  job: ["follow", "json"],
} as const satisfies Record<string, readonly OptionName[]>;
export type HubCommandName = keyof typeof HUB_COMMAND_OPTIONS;

function parse(args: string[], command: HubCommandName, min: number, max: number): { values: Values; positionals: string[] } {
  const allowed: readonly OptionName[] = [...HUB_COMMAND_OPTIONS[command], ...HUB_COMMON_OPTIONS];
  let parsed;
  try {
    parsed = parseArgs({ args, options: HUB_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Values;
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name)) throw new UsageError(`option --${name} does not apply to this command`);
  }
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max === Infinity ? "more" : max}`} arguments, got ${count}`);
  }
  return { values, positionals: parsed.positionals };
}

async function clientFor(values: Values, needToken = true): Promise<HubClient> {
  const s = await settings();
  const client = new HubClient({ hub: values.hub !== undefined ? normaliseHub(values.hub) : s.hub, token: s.token, repository: values.repo });
  if (needToken) client.requireToken();
  return client;
}

/** `repo/name` (`.flist` optional) → its parts; a usage error otherwise. */
function sourceOf(text: string): { repo: string; name: string } {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1 || text.indexOf("/", slash + 1) >= 0) throw new UsageError(`expected repo/name, got '${text}'`);
  return { repo: text.slice(0, slash), name: text.slice(slash + 1) };
}

const flist = (name: string) => (name.endsWith(".flist") ? name : `${name}.flist`);

const usernameSchema = z.object({ username: z.string() });

async function whoamiOf(client: HubClient): Promise<string> {
  const { payload } = await client.call("/api/flist/me", {}, usernameSchema);
  return payload.username;
}

/**
 * Reads the token from stdin: the last non-empty line of a pipe (`npm run token` prints it last), or one line typed
 * at a terminal without echo (a token on the screen ends up in scrollback and screen shares).
 */
async function readTokenFromStdin(io: Io): Promise<string> {
  const stdin = process.stdin;
  let text: string;
  if (stdin.isTTY) {
    await io.err("token: ");
    stdin.setRawMode(true);
    try {
      text = await new Promise<string>((resolve, reject) => {
        let typed = "";
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString("utf8")) {
            if (ch === "\r" || ch === "\n") return done(typed);
            if (ch === "\u0003") return done(undefined); // Ctrl-C
            typed = ch === "\u007f" ? typed.slice(0, -1) : typed + ch;
          }
        };
        const done = (value: string | undefined) => {
          stdin.off("data", onData);
          stdin.pause();
          if (value === undefined) reject(new UsageError("interrupted"));
          else resolve(value);
        };
        stdin.on("data", onData);
        stdin.resume();
      });
    } finally {
      stdin.setRawMode(false);
      await io.err("\n");
    }
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString("utf8");
  }
  const token = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "").at(-1);
  if (!token) throw new UsageError("no token given (--token T, or on stdin)");
  return token;
}

async function login(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, "login", 0, 0);
  const file = await readConfigFile();
  const hub = normaliseHub(values.hub || process.env.ZHUB_HUB || file.hub || (await settings()).hub);
  if (values.backend !== undefined) checkBackend(values.backend);
  const token = values.token ?? (await readTokenFromStdin(io));
  const client = new HubClient({ hub, token, repository: values.repo });
  const user = await whoamiOf(client);
  await writeConfigFile({ ...file, hub, token, user, ...(values.backend !== undefined ? { backend: values.backend } : {}) });
  await io.out(`logged in to ${hub} as ${user} (token stored in ${configPath()})\n`);
  return 0;
}

async function whoami(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, "whoami", 0, 0);
  const client = await clientFor(values);
  const user = await whoamiOf(client);
  await io.out(values.json ? `${JSON.stringify({ hub: client.hub, repository: user })}\n` : `${user} on ${client.hub}\n`);
  return 0;
}

/** Prints the end of a job; exit 1 when it failed. */
async function finish(io: Io, job: Job, json: boolean | undefined): Promise<number> {
  if (json) await io.out(`${JSON.stringify(job)}\n`);
  else if (job.status === "failed") await io.err(`zhub: ${jobLine(job)}\n`);
  else await io.out(`${jobLine(job)}\n`);
  return job.status === "failed" ? 1 : 0;
}

/** After a publishing request: print the job id (`--async`) or follow it to its end. */
async function started(io: Io, client: HubClient, id: string, values: Values, label: string): Promise<number> {
  if (values.async) {
    await io.out(`job ${id}\n`);
    return 0;
  }
  await io.err(`job ${id}\n`);
  return finish(io, await waitJob(client, id, io.stderr, label), values.json);
}

function metadataOf(values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values.metadata ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--metadata expects key=value, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

async function upload(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "upload", 1, 1);
  const file = positionals[0] as string;
  const partMiB = positiveInt(values["part-size"], "part-size");
  const metadata = metadataOf(values);
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  const client = await clientFor(values);
  const name = targetName(file, values.name);
  const id = await uploadArchive(client, file, {
    name,
    metadata,
    ...(partMiB ? { partSize: partMiB * 1024 * 1024 } : {}),
    ...(values.resumable ? { resumable: true } : {}),
    stderr: io.stderr,
  });
  return started(io, client, id, values, `${name}.flist`);
}

function checkBackend(spec: string): void {
  try {
    parseBackend(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function pushCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "push", 1, 1);
  const source = positionals[0] as string;
  if (!fs.existsSync(source)) throw new UsageError(`${source}: no such file or directory`);
  const threads = positiveInt(values.threads, "threads");
  const client = await clientFor(values);
  // Every flist's `backend` metadata must name the hub's public chunk backend: given, stored, or asked of the hub.
  const backend = values.backend ?? (await settings()).backend ?? (await hubBackend(client));
  checkBackend(backend);
  const name = values.name !== undefined ? values.name.replace(/\.flist$/, "") : targetName(nodePath.resolve(source), undefined);
  const result = await push(client, source, { name, backend, ...(threads ? { threads } : {}), stderr: io.stderr, log: (line) => io.err(`${line}\n`) });
  return started(io, client, result.job, values, `${name}.flist`);
}

const backendSchema = z.object({ address: z.string() });

/** The hub's public chunk backend (`GET /api/backend`), for flists built here. */
async function hubBackend(client: HubClient): Promise<string> {
  try {
    return (await client.call("/api/backend", {}, backendSchema)).payload.address;
  } catch (err) {
    throw new UsageError(
      `the hub did not tell its chunk backend (${(err as Error).message}): give it with --backend host:port[/namespace] ` +
        "(the hub's public 0-db address), or store it once with zhub login --backend",
    );
  }
}

async function merge(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "merge", 2, Infinity);
  const [target, ...sources] = positionals as [string, ...string[]];
  for (const s of sources) sourceOf(s);
  const client = await clientFor(values);
  const { payload } = await client.call(
    `/api/flist/me/merge/${path(target.replace(/\.flist$/, ""))}?async=1`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sources) },
    acceptedSchema,
  );
  return started(io, client, payload.job, values, flist(target));
}

const listingSchema = z.array(
  z.object({ name: z.string(), size: z.string().optional(), updated: z.number(), type: z.string(), target: z.string().optional() }).passthrough(),
);

async function ls(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "ls", 0, 1);
  const explicit = positionals[0];
  const client = await clientFor(values, explicit === undefined);
  const repo = explicit ?? (await whoamiOf(client));
  const entries = await client.json(`/api/flist/${path(repo)}`, listingSchema);
  if (values.json) {
    await io.out(`${JSON.stringify(entries)}\n`);
    return 0;
  }
  const rows = entries.map((e) => [
    e.name,
    e.type,
    e.size ?? "",
    new Date(e.updated * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
    e.target !== undefined ? `-> ${e.target}` : "",
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => (r[i] as string).length)));
  await io.out(rows.map((r) => `${r.map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c)).join("  ").trimEnd()}\n`).join(""));
  return 0;
}

/** One of the `/api/flist/me/*` catalog writes (POST; the hub also accepts the original's GET). */
async function write(io: Io, values: Values, route: string, method: "POST" | "DELETE", done: string): Promise<number> {
  const client = await clientFor(values);
  await client.call(`/api/flist/me/${route}`, { method }, z.unknown());
  await io.out(`${done}\n`);
  return 0;
}

async function link(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "link", 2, 2);
  const [source, linkName] = positionals as [string, string];
  if (source.includes("/")) {
    const { repo, name } = sourceOf(source);
    return write(io, values, `${path(flist(linkName))}/crosslink/${path(repo)}/${path(flist(name))}`, "POST", `${flist(linkName)} -> ${repo}/${flist(name)}`);
  }
  return write(io, values, `${path(flist(source))}/link/${path(flist(linkName))}`, "POST", `${flist(linkName)} -> ${flist(source)}`);
}

async function rename(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "rename", 2, 2);
  const [source, dest] = positionals as [string, string];
  return write(io, values, `${path(flist(source))}/rename/${path(flist(dest))}`, "POST", `${flist(source)} renamed to ${flist(dest)}`);
}

async function promote(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "promote", 2, 2);
  const { repo, name } = sourceOf(positionals[0] as string);
  const local = flist(positionals[1] as string);
  return write(io, values, `promote/${path(repo)}/${path(flist(name))}/${path(local)}`, "POST", `${repo}/${flist(name)} promoted as ${local}`);
}

async function tagCommand(args: string[], io: Io, remove: boolean): Promise<number> {
  const { values, positionals } = parse(args, remove ? "untag" : "tag", 2, 3);
  const [tag, source, as] = positionals as [string, string, string | undefined];
  const { repo, name } = sourceOf(source);
  const member = flist(as ?? name);
  const route = `${path(tag)}/${path(member)}/tag/${path(repo)}/${path(flist(name))}`;
  return write(io, values, route, remove ? "DELETE" : "POST", remove ? `${member} removed from tag ${tag}` : `tag ${tag}: ${member} -> ${repo}/${flist(name)}`);
}

async function rm(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "rm", 1, 1);
  const name = positionals[0] as string;
  // A tag has no .flist suffix, a flist or link may be given without it: the hub resolves `foo` as `foo.flist`.
  return write(io, values, path(name), "DELETE", `${name} removed`);
}

async function job(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "job", 1, 1);
  const id = positionals[0] as string;
  const client = await clientFor(values, false);
  if (values.follow) return finish(io, await waitJob(client, id, io.stderr, "job"), values.json);
  const current = await getJob(client, id);
  if (values.json) await io.out(`${JSON.stringify(current)}\n`);
  else await io.out(`${jobLine(current)}\n`);
  return current.status === "failed" ? 1 : 0;
}

type Command = (args: string[], io: Io) => Promise<number>;

export const HUB_COMMANDS: Record<HubCommandName, Command> = {
  login,
  whoami,
  upload,
  push: pushCommand,
  merge,
  ls,
  link,
  rename,
  promote,
  tag: (args, io) => tagCommand(args, io, false),
  untag: (args, io) => tagCommand(args, io, true),
  rm,
  job,
};
