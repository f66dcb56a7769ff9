/**
 * Container image → flist tree, without a Docker daemon: resolve the reference on its registry (platform chosen
 * from an index), stream each layer blob (digest-checked) through decompression and the tar reader into the
 * chunk pipeline and one LayerTree, then set owner names, metadata and, on request, `/.startup.toml`.
 *
 * The caller writes the tree with `writeFlist` and publishes it; on any error nothing is returned, so nothing is
 * published (chunks already stored are harmless: content-addressed, and a file replaced by a later layer leaves
 * its chunks behind the same way).
 *
 * Reproducible: the tree depends only on the image content (layer bytes, config) and the options; no wall clock,
 * no host user names (owner names come from the image's own /etc/passwd and /etc/group), so the same image digest
 * gives the same flist bytes.
 */
import type { FileCounts } from "../../../protocol/publish.ts";
import { ChunkPipeline, type PipelineStats } from "../chunks/pipeline.ts";
import { type Backend, backendMetadata, readmeMetadata } from "../flist/index.ts";
import type { FlistNode, FlistTree } from "../flist/model.ts";
import { type BackendSpec, type FilePipeline, parseBackend } from "../ingest/index.ts";
import { DEFAULT_CAPS, type IngestCaps } from "../ingest/rules.ts";
import type { ChunkStore } from "../store/types.ts";
import { type Credentials, CredentialsSchema } from "./auth.ts";
import { RegistryError } from "./errors.ts";
import { imageMetadata } from "./image-metadata.ts";
import { applyLayer } from "./layer-stream.ts";
import { LayerTree } from "./layers.ts";
import { layerCompression } from "./manifest.ts";
import { DEFAULT_PLATFORM, type PlatformSpec, formatPlatform, parsePlatform } from "./platform.ts";
import { type RegistryPolicy, registryPolicyFromEnv } from "./policy.ts";
import { flistName, formatReference, parseReference } from "./reference.ts";
import { RegistryClient } from "./registry.ts";
import { startupToml } from "./startup.ts";

/** docs/compatibility.md §5.5 `update` events. */
export interface ProgressEvent {
  status: "update";
  message: string;
  /** 0..100; the caller's own publish step is expected to take it from 98 to 100. */
  progress: number;
}

export interface ConvertOptions {
  /** Store the chunks here (a pipeline is created and finished by the conversion)… */
  store?: ChunkStore;
  /** …or feed this pipeline, which the caller finishes. */
  pipeline?: FilePipeline;
  /** Worker threads of the pipeline created for `store`. */
  threads?: number;
  /** `backend` metadata: `host:port[/namespace]` or parsed. */
  backend?: string | BackendSpec | Backend;
  /** Registry credentials for this pull only (never stored, logged or put in messages). */
  credentials?: Credentials;
  /** `linux/arm64`, `linux/arm/v7`… (default `linux/amd64`). */
  platform?: string | PlatformSpec;
  /** Also write `/.startup.toml` (the original hub's format) into the flist. */
  startupToml?: boolean;
  /**
   * Registries allowed, mirror, plain-HTTP registries, non-public addresses allowed (default: from the environment,
   * see policy.ts). Every registry connection is checked by the outbound guard (outbound.ts).
   */
  policy?: RegistryPolicy;
  /** Caps over all layers together (default: ingest's, 16 GiB expanded and 1,000,000 members). */
  caps?: Partial<IngestCaps>;
  /** Registry request timeout until headers, and the longest silence inside a blob (default 30 s). */
  timeoutMs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Cancels the conversion (e.g. the Worker answered 409: the job is finished or re-dispatched): requests and blob
   * streams are aborted, the pipeline stopped, and `convertImage` rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/** The flist counters of the job protocol (protocol/publish.ts), then the conversion's own figures. */
export interface ConvertStats extends FileCounts {
  layers: number;
  /** Bytes downloaded for the layers (compressed). */
  layerBytes: number;
  /** Tar bytes after decompression, all layers. */
  expandedBytes: number;
  /** Tar members read, all layers. */
  entries: number;
  whiteouts: number;
  pipeline?: PipelineStats;
}

export interface ConvertResult {
  tree: FlistTree;
  /** The flist name the original hub gives this reference (`ubuntu:22.04` → `ubuntu-22.04.flist`). */
  name: string;
  stats: ConvertStats;
  /** The same map as `tree.metadata`. */
  metadata: Map<string, string>;
  image: {
    /** Fully qualified reference as requested (`docker.io/library/ubuntu:22.04`). */
    reference: string;
    manifestDigest: string;
    indexDigest?: string;
    configDigest: string;
    platform: string;
  };
}

const README_NAMES = [".README.md", ".README"];
const CAPTURED = new Set(["etc/passwd", "etc/group", ...README_NAMES]);

export async function convertImage(reference: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  if (!options.pipeline && !options.store) throw new Error("convertImage: a store or a pipeline is required");
  const ref = parseReference(reference);
  const name = flistName(reference);
  const credentials = options.credentials === undefined ? undefined : checkCredentials(options.credentials);
  const platform = options.platform === undefined ? DEFAULT_PLATFORM : typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
  const backend = options.backend === undefined ? undefined : typeof options.backend === "string" ? parseBackend(options.backend) : options.backend;
  const caps: IngestCaps = { ...DEFAULT_CAPS, ...options.caps };
  const progress = new Progress(options.onProgress);
  const signal = options.signal;
  signal?.throwIfAborted();
  const image = formatReference(ref);

  progress.emit(`Resolving ${image}`, 1);
  const client = new RegistryClient(ref, {
    policy: options.policy ?? registryPolicyFromEnv(),
    ...(credentials !== undefined ? { credentials } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const resolved = await client.resolve(platform, options.platform !== undefined);
  const layers = resolved.manifest.layers;
  for (const layer of layers) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new RegistryError("unsupported", `${image} has a layer of type '${layer.mediaType}', which is not a filesystem layer`);
    }
  }

  const pipeline: FilePipeline =
    options.pipeline ?? new ChunkPipeline(options.store as ChunkStore, options.threads !== undefined ? { threads: options.threads } : {});
  const ownPipeline = options.pipeline === undefined;
  let failed = false;
  try {
    const tree = new LayerTree(pipeline, CAPTURED);
    const total = layers.reduce((sum, l) => sum + l.size, 0);
    let done = 0;
    let expandedBytes = 0;
    let entries = 0;
    for (const [i, layer] of layers.entries()) {
      const label = `layer ${i + 1} (${layer.digest})`;
      const message = () => `Downloading layer ${i + 1} / ${layers.length} [${mb(done)} / ${mb(total)}]`;
      progress.emit(message(), layerProgress(done, total));
      signal?.throwIfAborted();
      const counted = countBytes(client.blob(layer), (n) => {
        signal?.throwIfAborted();
        done += n;
        progress.emit(message(), layerProgress(done, total));
      });
      const counters = await applyLayer(
        tree,
        counted,
        layerCompression(layer.mediaType) ?? "sniff",
        { ...caps, maxExpandedBytes: caps.maxExpandedBytes - expandedBytes, maxEntries: caps.maxEntries - entries },
        label,
      );
      expandedBytes += counters.expandedBytes;
      entries += counters.entries;
    }

    if (options.startupToml) {
      const created = Date.parse(resolved.config.created ?? "");
      const mtime = Number.isFinite(created) && created > 0 ? Math.min(Math.floor(created / 1000), 0xffffffff) : 0;
      await tree.addGeneratedFile(".startup.toml", Buffer.from(startupToml(resolved.config), "utf8"), {
        mode: 0o644,
        owner: { uid: 0, gid: 0, user: "root", group: "root" },
        mtime,
        ctime: mtime,
      });
    }

    progress.emit("Building flist: storing the last chunks", 90);
    const root = await (signal ? untilAborted(tree.finish(), signal) : tree.finish());
    const pipelineStats = ownPipeline ? ((await pipeline.finish()) as PipelineStats) : undefined;
    progress.emit("Building flist: owners and metadata", 96);
    nameOwners(tree);

    const metadata = new Map<string, string>();
    if (backend !== undefined) metadata.set("backend", backendMetadata(backend));
    const canonical = `${ref.registry}/${ref.repository}@${resolved.manifestDigest}`;
    for (const [key, value] of imageMetadata(resolved.config, canonical)) metadata.set(key, value);
    const readme = readmeOf(tree, root.children);
    if (readme !== undefined) metadata.set("readme", readme);

    const counts = tree.counts();
    const stats: ConvertStats = {
      regular: counts.regular,
      symlink: counts.symlink,
      directory: counts.directory,
      special: counts.special,
      failure: 0,
      fullsize: fileBytes(root),
      layers: layers.length,
      layerBytes: total,
      expandedBytes,
      entries,
      whiteouts: counts.whiteouts,
      ...(pipelineStats !== undefined ? { pipeline: pipelineStats } : {}),
    };
    progress.emit("Image converted", 98);
    const result: ConvertResult = {
      tree: { root, metadata },
      name,
      stats,
      metadata,
      image: {
        reference: image,
        manifestDigest: resolved.manifestDigest,
        configDigest: resolved.configDigest,
        platform: formatPlatform({
          os: resolved.config.os ?? platform.os,
          architecture: resolved.config.architecture ?? platform.architecture,
          variant: resolved.config.variant,
        }),
      },
    };
    if (resolved.indexDigest !== undefined) result.image.indexDigest = resolved.indexDigest;
    return result;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (failed && ownPipeline) {
      const stop = pipeline.abort ? pipeline.abort(new Error("image conversion failed")) : pipeline.finish();
      await stop.catch(() => {});
    }
  }
}

/** `work`, unless `signal` fires first (the pipeline is then aborted by the caller's failure path). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    // `work` is handled before anything else: its rejection after an abort must not become an unhandled rejection
    // (which takes a Node process down).
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** zod at the edge; the message never echoes the values. */
function checkCredentials(credentials: unknown): Credentials {
  const parsed = CredentialsSchema.safeParse(credentials);
  if (!parsed.success) throw new RegistryError("invalid-reference", "credentials must be {username, password} or {token}, non-empty strings");
  return parsed.data;
}

/** Layers take progress 5..88 by downloaded bytes. */
function layerProgress(done: number, total: number): number {
  return total === 0 ? 88 : 5 + Math.floor((83 * done) / total);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Emits an event when the message or the integer percentage changes, not for every network chunk. */
class Progress {
  private last = "";
  constructor(private readonly sink?: (event: ProgressEvent) => void) {}
  emit(message: string, progress: number): void {
    if (!this.sink) return;
    const pct = Math.max(0, Math.min(100, Math.floor(progress)));
    // Byte counts in the message change constantly: only a new layer or a new percent is worth an event.
    const key = `${message.replace(/\[.*\]$/, "")}|${pct}`;
    if (key === this.last) return;
    this.last = key;
    this.sink({ status: "update", message, progress: pct });
  }
}

async function* countBytes(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.byteLength);
    yield chunk;
  }
}

/**
 * Owner names as the image itself defines them (what `ls -l` shows inside the container): its /etc/passwd and
 * /etc/group; uid/gid 0 without an entry is `root`; any other unknown id is its decimal string (as zflist does).
 */
function nameOwners(tree: LayerTree): void {
  const users = idNames(tree.capturedContent("etc/passwd"));
  const groups = idNames(tree.capturedContent("etc/group"));
  const nameOf = (names: Map<number, string>, id: number) => names.get(id) ?? (id === 0 ? "root" : String(id));
  for (const node of tree.nodes() as Iterable<FlistNode>) {
    const { uid, gid } = node.owner;
    node.owner = { uid, gid, user: nameOf(users, uid), group: nameOf(groups, gid) };
  }
}

function idNames(content: Buffer | undefined): Map<number, string> {
  const names = new Map<number, string>();
  if (content === undefined) return names;
  for (const line of content.toString("utf8").split("\n")) {
    const fields = line.split(":");
    const id = Number(fields[2]);
    // First entry wins, as getpwuid returns the first match.
    if (fields[0] && fields.length >= 3 && fields[2] !== "" && Number.isInteger(id) && !names.has(id)) names.set(id, fields[0]);
  }
  return names;
}

/** The hub imports /.README.md, then /.README (the last wins), as for uploads (docs/compatibility.md §5.1, §5.4). */
function readmeOf(tree: LayerTree, rootChildren: FlistNode[]): string | undefined {
  let readme: string | undefined;
  for (const name of README_NAMES) {
    if (rootChildren.find((c) => c.name === name)?.kind !== "file") continue;
    const content = tree.capturedContent(name);
    if (content === undefined) continue;
    try {
      readme = readmeMetadata({ readme: new TextDecoder("utf-8", { fatal: true }).decode(content) });
    } catch {
      // not UTF-8: zflist (jansson) would refuse it too
    }
  }
  return readme;
}

function fileBytes(root: FlistTree["root"]): number {
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    for (const child of (stack.pop() as FlistTree["root"]).children) {
      if (child.kind === "file") total += child.size;
      else if (child.kind === "dir") stack.push(child);
    }
  }
  return total;
}
