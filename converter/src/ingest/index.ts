/**
 * Ingestion: a tar / tar.gz stream or a local directory → `FlistTree`, with every file's bytes going straight from
 * the source into the chunk pipeline (hashed, compressed, encrypted and stored by worker threads while the source
 * is still being read). Memory stays bounded: the pipeline limits the chunks in flight, and only the tree (one
 * small record per entry, capped by `maxEntries`) grows with the input.
 *
 * Behaviour on odd input (see rules.ts for what is refused):
 * - duplicate paths: the later entry wins, as `tar -x` would leave it; a directory repeated keeps its children;
 * - directories implied by a path but missing from the archive: 0755 root:root, times 0, size 4096;
 * - the archive's `./` entry (or the walked directory itself) gives the root its attributes;
 * - hardlinks: independent entries sharing the target's blocks (as zflist); forward references are resolved at the end;
 * - members without user/group names: the host's names for those ids, else the decimal id (as zflist on the hub);
 * - caps (`DEFAULT_CAPS`, rules.ts): 4 GiB expanded, 1,000,000 entries, depth 256, names 255 and paths 4095 bytes.
 * On any error nothing is returned (callers publish nothing); chunks already stored are harmless.
 */
import fs from "node:fs";
import type { Readable } from "node:stream";
import { ChunkPipeline, type PipelineStats } from "../chunks/pipeline.ts";
import type { Block, FlistTree } from "../flist/model.ts";
import type { ChunkStore } from "../store/types.ts";
import { type ArchiveCounters, type ArchiveEntry, ArchiveReader } from "./tar.ts";
import { walkDirectory } from "./directory.ts";
import { backendMetadata, readmeMetadata } from "../flist/metadata.ts";
import { type BackendSpec, parseBackend } from "./metadata.ts";
import { type OwnerNames, hostOwnerNames } from "./owners.ts";
import type { IngestCaps } from "./rules.ts";
import { type TreeCounts, TreeBuilder } from "./tree.ts";

export { IngestError, DEFAULT_CAPS, type IngestCaps, type IngestRule } from "./rules.ts";
export { parseBackend, type BackendSpec } from "./metadata.ts";

/** What ingestion needs from the chunk pipeline (converter/src/chunks/pipeline.ts). */
export interface FilePipeline {
  /** Resolves once `source` is consumed; `blocks` settles when every chunk of the file is stored. */
  addFile(source: AsyncIterable<Uint8Array>): Promise<{ blocks: Promise<Block[]> }>;
  finish(): Promise<unknown>;
  /** Stops the workers at once after a failure (pending chunks are dropped). */
  abort?(reason?: Error): Promise<void>;
}

export interface IngestProgress {
  /** Bytes of the source read so far (compressed bytes for a .tar.gz); 0 for a directory. */
  sourceBytes: number;
  entries: number;
  files: number;
  fileBytes: number;
}

export interface IngestOptions {
  /** Store the chunks here (a pipeline is created and finished by the ingestion)… */
  store?: ChunkStore;
  /** …or feed this pipeline, which the caller finishes (several ingestions may share it). */
  pipeline?: FilePipeline;
  /** Worker threads of the pipeline created for `store` (default: the pipeline's own default). */
  threads?: number;
  caps?: Partial<IngestCaps>;
  /** `host:port[/namespace]` or parsed: sets the `backend` metadata. */
  backend?: string | BackendSpec;
  /** Names for ids the source leaves unnamed (default: the host's passwd/group). */
  owners?: OwnerNames;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestStats extends TreeCounts {
  entries: number;
  /** Sum of regular file sizes (zflist's `fullsize`). */
  fileBytes: number;
  sourceBytes: number;
  expandedBytes: number;
  gzip: boolean;
  /** The pipeline's own figures (chunks written, skipped, …) when this ingestion created it. */
  pipeline?: PipelineStats;
}

export interface IngestResult {
  tree: FlistTree;
  stats: IngestStats;
}

/** The readme names the hub imports, in its order (the last one present wins). */
const README_NAMES = [".README.md", ".README"];
/** Readmes are metadata text shown on a web page: larger ones are left out rather than held in memory. */
const README_MAX_BYTES = 1024 * 1024;

/** Ingests a `.tar` / `.tar.gz` from a stream or a file path. On failure the source stream is destroyed. */
export async function ingestArchive(source: Readable | string, options: IngestOptions = {}): Promise<IngestResult> {
  const input = typeof source === "string" ? fs.createReadStream(source, { highWaterMark: 1024 * 1024 }) : source;
  const live: LiveCounters = { files: 0, fileBytes: 0 };
  const reader = new ArchiveReader(input, {
    caps: options.caps,
    owners: options.owners ?? hostOwnerNames(),
    // Progress also moves inside a large file, as its compressed bytes are read.
    onSourceBytes: () => report(options, reader.counters, live),
  });
  try {
    return await ingestEntries(reader.entries(), options, reader.counters, (err) => reader.explain(err), live);
  } catch (err) {
    // Nothing more will be read: release the source (an upload stream included) instead of leaving it paused.
    input.destroy();
    throw err;
  } finally {
    if (typeof source === "string") input.destroy();
  }
}

/** Ingests a local directory (its contents become the flist root). */
export async function ingestDirectory(dir: string, options: IngestOptions = {}): Promise<IngestResult> {
  const counters: ArchiveCounters = { sourceBytes: 0, expandedBytes: 0, entries: 0, gzip: false };
  const entries = walkDirectory(dir, { caps: options.caps, owners: options.owners }, counters);
  return ingestEntries(entries, options, counters, (err) => err);
}

/** A directory or an archive file, whichever `source` is. */
export async function ingestPath(source: string, options: IngestOptions = {}): Promise<IngestResult> {
  const stat = await fs.promises.stat(source);
  return stat.isDirectory() ? ingestDirectory(source, options) : ingestArchive(source, options);
}

async function ingestEntries(
  entries: AsyncIterable<ArchiveEntry>,
  options: IngestOptions,
  counters: ArchiveCounters,
  explain: (err: unknown) => unknown,
  live: LiveCounters = { files: 0, fileBytes: 0 },
): Promise<IngestResult> {
  if (!options.pipeline && !options.store) throw new Error("ingest: a store or a pipeline is required");
  // A bad backend fails before any work, not after the whole archive was read.
  const backend = typeof options.backend === "string" ? parseBackend(options.backend) : options.backend;
  const pipeline: FilePipeline =
    options.pipeline ??
    new ChunkPipeline(options.store as ChunkStore, options.threads !== undefined ? { threads: options.threads } : {});
  const builder = new TreeBuilder();
  const readmes = new Map<string, Buffer | undefined>();
  const progress = () => report(options, counters, live);

  let pipelineStats: PipelineStats | undefined;
  let failed = false;
  try {
    for await (const entry of entries) {
      const readmeName = entry.parts.length === 1 && README_NAMES.includes(entry.parts[0] as string) ? entry.parts[0] : undefined;
      if (readmeName !== undefined) readmes.delete(readmeName);
      switch (entry.kind) {
        case "dir":
          builder.addDirectory(entry.parts, entry.attrs, entry.entry);
          break;
        case "file": {
          builder.checkParent(entry.parts, entry.entry);
          let body = entry.body;
          let readme: Buffer[] | undefined;
          if (readmeName !== undefined && entry.size <= README_MAX_BYTES) body = tee(body, (readme = []));
          let blocks: Promise<Block[]> = Promise.resolve([]);
          if (entry.size > 0) ({ blocks } = await pipeline.addFile(body));
          // Rejections are reported by builder.finish(); this only keeps an early failure from being "unhandled".
          blocks.catch(() => {});
          builder.addFile(entry.parts, entry.attrs, entry.size, blocks, entry.entry);
          if (readmeName !== undefined && readme) readmes.set(readmeName, Buffer.concat(readme));
          live.files++;
          live.fileBytes += entry.size;
          break;
        }
        case "link":
          builder.addLink(entry.parts, entry.attrs, entry.target, entry.entry);
          break;
        case "hardlink":
          builder.addHardlink(entry.parts, entry.target, entry.entry);
          break;
        case "special":
          builder.addSpecial(entry.parts, entry.attrs, entry.type, entry.data, entry.entry);
          break;
      }
      progress();
    }
    const root = await builder.finish();
    // Only a pipeline created here is finished here; it is a ChunkPipeline, so its figures are PipelineStats.
    if (!options.pipeline) pipelineStats = (await pipeline.finish()) as PipelineStats;
    const tree: FlistTree = { root, metadata: new Map() };
    setMetadata(tree, backend, readmes);
    const counts = builder.counts();
    const stats: IngestStats = {
      ...counts,
      entries: counters.entries,
      fileBytes: sumFileBytes(tree),
      sourceBytes: counters.sourceBytes,
      expandedBytes: counters.expandedBytes,
      gzip: counters.gzip,
      ...(pipelineStats !== undefined ? { pipeline: pipelineStats } : {}),
    };
    return { tree, stats };
  } catch (err) {
    failed = true;
    throw explain(err);
  } finally {
    // Always release the workers of a pipeline we created, even after a failure.
    if (failed && !options.pipeline) {
      const stop = pipeline.abort ? pipeline.abort(new Error("ingestion failed")) : pipeline.finish();
      await stop.catch(() => {});
    }
  }
}

/** Files seen so far, shared between the entry loop and the reader's byte counter for progress reports. */
interface LiveCounters {
  files: number;
  fileBytes: number;
}

function report(options: IngestOptions, counters: ArchiveCounters, live: LiveCounters): void {
  options.onProgress?.({ sourceBytes: counters.sourceBytes, entries: counters.entries, ...live });
}

function setMetadata(tree: FlistTree, backend: BackendSpec | undefined, readmes: Map<string, Buffer | undefined>): void {
  if (backend !== undefined) tree.metadata.set("backend", backendMetadata(backend));
  // The hub imports /.README.md, then /.README (the last wins); only regular files still in the tree count.
  for (const name of README_NAMES) {
    const node = tree.root.children.find((c) => c.name === name);
    const text = readmes.get(name);
    if (node?.kind !== "file" || text === undefined) continue;
    const decoded = decodeUtf8(text);
    if (decoded !== undefined) tree.metadata.set("readme", readmeMetadata({ readme: decoded }));
  }
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined; // jansson refuses invalid UTF-8, so zflist would not import it either
  }
}

function sumFileBytes(tree: FlistTree): number {
  let total = 0;
  const stack = [tree.root];
  while (stack.length > 0) {
    for (const child of (stack.pop() as FlistTree["root"]).children) {
      if (child.kind === "file") total += child.size;
      else if (child.kind === "dir") stack.push(child);
    }
  }
  return total;
}

/** Passes `source` through while keeping a copy of its bytes (only used for the small readme files). */
async function* tee(source: AsyncIterable<Uint8Array>, copy: Buffer[]): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    copy.push(Buffer.from(chunk));
    yield chunk;
  }
}
