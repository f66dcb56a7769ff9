/**
 * `zhub flist <command>`: create, ls, find, stat, get, cat, merge, check, metadata. Each command parses its own
 * options with `node:util` parseArgs and returns an exit code: 0 success, 1 failure (including missing chunks for
 * `check`), 2 usage errors. Output formats follow zflist 2.3.0 (`--json` = its `ZFLIST_JSON=1` envelope).
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { ChunkPipeline } from "../chunks/pipeline.ts";
import { findMissing } from "../chunks/verify.ts";
import { readBlocks } from "../chunks/read.ts";
import type { DirNode, FileNode, FlistNode, FlistTree } from "../flist/model.ts";
import {
  FlistViewError,
  type StatResponse,
  findDir,
  findView,
  lsView,
  metadataGetView,
  metadataListView,
  mergeAll,
  readFlist,
  statView,
  typeName,
  writeFlist,
  zflistJson,
} from "../flist/index.ts";
import { type IngestCaps, type IngestOptions, type IngestStats, ingestArchive, ingestPath, parseBackend } from "../ingest/index.ts";
import { jsonDumps } from "../flist/metadata.ts";
import { type ChunkStore, openStore } from "../store/index.ts";
import { processCpuSeconds, threadCpuSeconds } from "../chunks/thread-cpu.ts";
import { Progress } from "./progress.ts";
import { findText, lsText, statText, summaryText } from "./text.ts";
import { type Io, UsageError } from "./io.ts";

export const FLIST_USAGE = `usage: zhub flist <command> [options]

  create [--store URL] [--backend host:port[/namespace]] [--threads N]
         [--max-expanded-bytes N] [--max-entries N] [--max-depth N] [--max-name-bytes N]
         [--max-path-bytes N] [--json] <dir|archive.tar[.gz]|-> <out.flist>
  ls <flist> [dir] [--json]            find <flist> [--json]
  stat <flist> <path> [--json]         metadata <flist> [key [value]] [--json]
  get <flist> <path> <out> [--store URL]
  cat <flist> <path> [--store URL]
  merge <out.flist> <a.flist> <b.flist>...   (the first flist wins on name clashes)
  check <flist> [--store URL] [--json] (exit 1 when chunks are missing)

Store URLs: zdb://[:password@]host[:port][/namespace], redis://host[:port][/db], file:///path.
get/cat/check default to the flist's backend metadata (zdb://host:port/namespace).
`;

type Command = (args: string[], io: Io) => Promise<number>;

export const FLIST_COMMANDS: Record<FlistCommandName, Command> = {
  create,
  ls,
  find,
  stat,
  get,
  cat,
  merge,
  check,
  metadata,
};

/** Every option of the flist commands (`parseArgs` form). */
export const FLIST_OPTIONS = {
  store: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  "max-expanded-bytes": { type: "string" },
  "max-entries": { type: "string" },
  "max-depth": { type: "string" },
  "max-name-bytes": { type: "string" },
  "max-path-bytes": { type: "string" },
  json: { type: "boolean" },
} as const;

type OptionName = keyof typeof FLIST_OPTIONS;
type Values = { [K in OptionName]?: (typeof FLIST_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

/** The options each flist command accepts: parse() refuses the others, completion offers these. */
export const FLIST_COMMAND_OPTIONS = {
  create: ["store", "backend", "threads", "max-expanded-bytes", "max-entries", "max-depth", "max-name-bytes", "max-path-bytes", "json"],
  ls: ["json"],
  find: ["json"],
  stat: ["json"],
  get: ["store"],
  cat: ["store"],
  merge: [],
  check: ["store", "json"],
  metadata: ["json"],
} as const satisfies Record<string, readonly OptionName[]>;
export type FlistCommandName = keyof typeof FLIST_COMMAND_OPTIONS;

function parse(args: string[], command: FlistCommandName, min: number, max: number): { values: Values; positionals: string[] } {
  const allowed: readonly OptionName[] = FLIST_COMMAND_OPTIONS[command];
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLIST_OPTIONS, allowPositionals: true, strict: true });
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

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

/** `--store` given, or else the flist's `backend` metadata as a zdb URL (what zflist get/cat/check use). */
async function storeFor(tree: FlistTree, url: string | undefined): Promise<ChunkStore> {
  if (url !== undefined) return openStore(url);
  const raw = tree.metadata.get("backend");
  if (raw === undefined) throw new UsageError("no --store given and the flist has no backend metadata");
  let backend: { host?: unknown; port?: unknown; namespace?: unknown; password?: unknown };
  try {
    backend = JSON.parse(raw) as typeof backend;
  } catch {
    throw new UsageError("no --store given and the flist's backend metadata is not JSON");
  }
  if (typeof backend.host !== "string" || typeof backend.port !== "number") {
    throw new UsageError("no --store given and the flist's backend metadata has no host/port");
  }
  const auth = typeof backend.password === "string" ? `:${encodeURIComponent(backend.password)}@` : "";
  const host = backend.host.includes(":") ? `[${backend.host}]` : backend.host;
  const ns = typeof backend.namespace === "string" ? `/${encodeURIComponent(backend.namespace)}` : "";
  return openStore(`zdb://${auth}${host}:${backend.port}${ns}`);
}

/** A store that keeps nothing: `create` without `--store` still computes every chunk (as zflist without a backend). */
function discardStore(): ChunkStore {
  return {
    description: "(no store)",
    exists: async (keys) => keys.map(() => false),
    put: async () => {},
    get: async () => null,
    close: async () => {},
  };
}

async function create(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "create", 2, 2);
  const [source, out] = positionals as [string, string];
  let backend;
  try {
    backend = values.backend !== undefined ? parseBackend(values.backend) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const threads = positiveInt(values.threads, "threads");
  const caps: Partial<IngestCaps> = {};
  const limits = ["max-expanded-bytes", "max-entries", "max-depth", "max-name-bytes", "max-path-bytes"] as const;
  const capOf = { "max-expanded-bytes": "maxExpandedBytes", "max-entries": "maxEntries", "max-depth": "maxDepth", "max-name-bytes": "maxNameBytes", "max-path-bytes": "maxPathBytes" } as const;
  for (const option of limits) {
    const value = positiveInt(values[option], option);
    if (value) caps[capOf[option]] = value;
  }
  // "-": an archive on stdin (size unknown, so no percentage).
  const fromStdin = source === "-";
  const sourceStat = fromStdin ? undefined : await fs.promises.stat(source);
  const total = sourceStat === undefined || sourceStat.isDirectory() ? 0 : sourceStat.size;

  const store = values.store !== undefined ? await openStore(values.store) : discardStore();
  const progress = new Progress("create", io.stderr);
  const started = performance.now();
  const mainAtStart = threadCpuSeconds();
  // Created here rather than by the ingestion so that its stage times can be read after it finished.
  const pipeline = new ChunkPipeline(store, threads ? { threads } : {});
  let finished = false;
  try {
    const ingest = (options: IngestOptions) => (fromStdin ? ingestArchive(process.stdin, options) : ingestPath(source, options));
    const { tree, stats: ingested } = await ingest({
      pipeline,
      ...(backend ? { backend } : {}),
      caps,
      onProgress: (p) =>
        progress.update({ done: sourceStat?.isDirectory() ? p.fileBytes : p.sourceBytes, total, detail: `${p.files} files` }),
    });
    const stats: IngestStats = { ...ingested, pipeline: await pipeline.finish() };
    finished = true;
    progress.done();
    const mainAtWrite = threadCpuSeconds();
    const written = await writeFlist(tree, out);
    const seconds = (performance.now() - started) / 1000;
    const chunks = stats.pipeline ?? { chunks: 0, written: 0, skipped: 0 };
    if (values.json) {
      const cpu = cpuFigures(pipeline, mainAtStart, mainAtWrite);
      await io.out(`${JSON.stringify({ flist: out, md5: written.md5, size: written.size, seconds, store: store.description, stats, cpu })}\n`);
    } else {
      await io.out(createSummary(out, written.md5, stats, chunks, store, values.store !== undefined, seconds));
    }
    return 0;
  } finally {
    if (!finished) await pipeline.abort(new Error("flist create failed")).catch(() => {});
    progress.done();
    await store.close();
  }
}

/**
 * CPU seconds by stage, for `--json` (docs/benchmarks.md "flist create"): the main thread before the work
 * (start-up), while ingesting (tar parsing, cutting pieces, store client) and while writing the flist (SQLite,
 * metadata, tar.gz packing); the workers' transform stages and their overhead (messages, GC); and the rest of
 * the process so far (gunzip on zlib's libuv threads, file reads, GC helper threads).
 */
function cpuFigures(pipeline: ChunkPipeline, mainAtStart: number | undefined, mainAtWrite: number | undefined) {
  const total = processCpuSeconds();
  const mainNow = threadCpuSeconds();
  const stages = pipeline.stageSeconds();
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const workers = stages.hashing + stages.compression + stages.encryption + stages.overhead;
  const main =
    mainAtStart !== undefined && mainAtWrite !== undefined && mainNow !== undefined
      ? { startup: round(mainAtStart), ingest: round(mainAtWrite - mainAtStart), write: round(mainNow - mainAtWrite) }
      : undefined;
  return {
    total: round(total),
    ...(main ? { main } : {}),
    hashing: round(stages.hashing),
    compression: round(stages.compression),
    encryption: round(stages.encryption),
    workerOverhead: round(stages.overhead),
    other: main ? round(total - (mainNow ?? 0) - workers) : undefined,
  };
}

function createSummary(
  out: string,
  md5: string,
  stats: IngestStats,
  chunks: { chunks: number; written: number; skipped: number },
  store: ChunkStore,
  stored: boolean,
  seconds: number,
): string {
  const chunkLine = stored
    ? `chunks: ${chunks.chunks} (${chunks.written} written, ${chunks.skipped} skipped) in ${store.description}`
    : `chunks: ${chunks.chunks} computed, none stored (no --store)`;
  return [
    `${out}: ${stats.directory} directories, ${stats.regular} files, ${stats.symlink} symlinks, ${stats.special} specials, ${stats.fileBytes} bytes`,
    chunkLine,
    `md5: ${md5}`,
    `time: ${seconds.toFixed(2)} s`,
    "",
  ].join("\n");
}

/** Prints a view as zflist does: JSON envelope (exit 1 on failure) or text. */
async function view<T>(io: Io, json: boolean | undefined, compute: () => T, text: (value: T) => string): Promise<number> {
  if (json) {
    const envelope = zflistJson(compute);
    await io.out(`${jsonDumps(envelope)}\n`);
    return envelope.success ? 0 : 1;
  }
  let value: T;
  try {
    value = compute();
  } catch (err) {
    if (err instanceof FlistViewError) {
      await io.err(`zhub: ${err.fn}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  await io.out(text(value));
  return 0;
}

async function ls(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "ls", 1, 2);
  const tree = await readFlist(positionals[0] as string);
  const dir = positionals[1] ?? "/";
  return view(io, values.json, () => lsView(tree, dir), (entries) => lsText(entries, (findDir(tree, dir) as DirNode).children.map((c) => c.mode)));
}

async function find(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "find", 1, 1);
  const tree = await readFlist(positionals[0] as string);
  return view(io, values.json, () => findView(tree), findText);
}

async function stat(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "stat", 2, 2);
  const tree = await readFlist(positionals[0] as string);
  const path = positionals[1] as string;
  // JSON is zflist's (which shows every device as ""); the text shows the stored "major,minor".
  const compute = () => zflistStatOrder(statView(tree, path, { device: values.json ? "zflist" : "data" }));
  return view(io, values.json, compute, (s) => statText(s, typeName(nodeAt(tree, s.file) as FlistNode)));
}

async function metadata(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "metadata", 1, 3);
  const [file, key, value] = positionals as [string, string | undefined, string | undefined];
  const tree = await readFlist(file);
  if (key === undefined) return view(io, values.json, () => metadataListView(tree), (keys) => keys.map((k) => `${k}\n`).join(""));
  if (value === undefined) return view(io, values.json, () => metadataGetView(tree, key), () => `${tree.metadata.get(key)}\n`);
  // Generic setter, like `zflist metadata <key> <value>`: the value is stored as given (JSON for the known keys).
  tree.metadata.set(key, value);
  await writeFlist(tree, file);
  return 0;
}

/** zflist prints `linkto`/`device` before `chunks`: keep its key order so `--json` output matches byte for byte. */
function zflistStatOrder(stat: StatResponse): StatResponse {
  const { chunks, linkto, device, ...head } = stat;
  return { ...head, ...(linkto !== undefined ? { linkto } : {}), ...(device !== undefined ? { device } : {}), chunks };
}

/** The node at an absolute flist path (first match per component, as zflist). */
function nodeAt(tree: FlistTree, path: string): FlistNode | undefined {
  let node: FlistNode = tree.root;
  for (const part of path.split("/").filter((p) => p !== "" && p !== ".")) {
    if (node.kind !== "dir") return undefined;
    const next: FlistNode | undefined = node.children.find((c) => c.name === part);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

function fileAt(tree: FlistTree, path: string): FileNode {
  const node = nodeAt(tree, path);
  if (node === undefined) throw new FlistViewError("get", `${path}: no such file or directory`);
  if (node.kind !== "file") throw new FlistViewError("get", `${path}: not a regular file`);
  return node;
}

async function get(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "get", 3, 3);
  const [file, path, out] = positionals as [string, string, string];
  const tree = await readFlist(file);
  const node = fileAt(tree, path);
  const store = await storeFor(tree, values.store);
  const temp = `${out}.tmp-${process.pid}`;
  try {
    const sink = fs.createWriteStream(temp);
    let written = 0;
    for await (const piece of readBlocks(store, node.blocks)) {
      written += piece.byteLength;
      if (!sink.write(piece)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (written !== node.size) throw new Error(`${path}: chunks hold ${written} bytes, the flist says ${node.size}`);
    await fs.promises.rename(temp, out);
    return 0;
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  } finally {
    await store.close();
  }
}

async function cat(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "cat", 2, 2);
  const [file, path] = positionals as [string, string];
  const tree = await readFlist(file);
  const node = fileAt(tree, path);
  const store = await storeFor(tree, values.store);
  try {
    for await (const piece of readBlocks(store, node.blocks)) await io.out(piece);
    return 0;
  } finally {
    await store.close();
  }
}

async function merge(args: string[], io: Io): Promise<number> {
  const { positionals } = parse(args, "merge", 3, Infinity);
  const [out, ...inputs] = positionals as [string, ...string[]];
  const trees = [];
  for (const input of inputs) trees.push(await readFlist(input));
  const written = await writeFlist(mergeAll(trees), out);
  await io.out(`${out}: merged ${inputs.length} flists, md5 ${written.md5}\n`);
  return 0;
}

async function check(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, "check", 1, 1);
  const tree = await readFlist(positionals[0] as string);
  const files: Array<{ path: string; node: FileNode }> = [];
  const stack: Array<{ dir: DirNode; prefix: string }> = [{ dir: tree.root, prefix: "" }];
  while (stack.length > 0) {
    const { dir, prefix } = stack.pop() as { dir: DirNode; prefix: string };
    for (const child of dir.children) {
      const path = `${prefix}/${child.name}`;
      if (child.kind === "dir") stack.push({ dir: child, prefix: path });
      else if (child.kind === "file") files.push({ path, node: child });
    }
  }
  const store = await storeFor(tree, values.store);
  let missing: Set<string>;
  try {
    const keys = files.flatMap((f) => f.node.blocks.map((b) => b.hash));
    missing = new Set((await findMissing(store, keys)).map(hex));
  } finally {
    await store.close();
  }
  const broken = files
    .map((f) => ({ path: f.path, chunks: [...new Set(f.node.blocks.map((b) => hex(b.hash)).filter((k) => missing.has(k)))] }))
    .filter((f) => f.chunks.length > 0)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const result = { ...findView(tree), failure: broken.length };
  if (values.json) {
    await io.out(`${jsonDumps({ success: true, error: null, response: { ...result, missing: broken } })}\n`);
  } else {
    for (const f of broken) await io.out(`missing: ${f.path}: ${f.chunks.join(", ")}\n`);
    await io.out(summaryText(result));
  }
  if (broken.length > 0) await io.err(`zhub: check: ${broken.length} files have missing chunks (${missing.size} chunks missing from ${store.description})\n`);
  return broken.length > 0 ? 1 : 0;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
