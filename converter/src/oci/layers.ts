/**
 * Applies image layers, in order, into one flist tree: the OCI image-spec "Applying Changesets" rules, which is
 * what `umoci unpack` (and Docker) produce on disk.
 *
 * - Each layer is a tar read by ingest's `ArchiveReader` (so every hostile-input rule of ingest/rules.ts applies
 *   to every layer: absolute paths, `..`, bad names, caps on size and entries) and its file bodies go straight
 *   into the chunk pipeline: no layer is held in memory.
 * - `.wh.<name>` deletes `<name>` (and its subtree) from the layers below; `.wh..wh..opq` empties its directory of
 *   everything from the layers below. Per the spec, a whiteout never hides an entry of its own layer, whatever
 *   the member order. Other `.wh..wh.*` names (aufs bookkeeping) are ignored; whiteouts never appear in the tree.
 * - A later entry replaces an earlier one at the same path (a directory over a directory keeps the children and
 *   takes the new attributes; anything else replaces the node and its subtree), as `tar -x` does.
 * - Hardlinks may point at a file of any layer below or earlier in the same layer; the target must exist when the
 *   link is read (as `link(2)` during an unpack needs). They become independent entries sharing the target's
 *   blocks and attributes (one inode on disk). Hardlinks to directories or through symlinks are refused.
 * - Parents are never followed through symlinks: a member under a symlinked directory is refused (ingest's
 *   `symlink-parent` rule) rather than written somewhere else.
 *
 * The tree itself is ingest's TreeBuilder (same structural rules, implied directories, listing order); each layer
 * is one of its generations, which is what lets a whiteout tell entries of its own layer from those below.
 */
import type { Block, DirNode, FileNode, FlistNode } from "../flist/model.ts";
import type { ArchiveEntry } from "../ingest/tar.ts";
import { IngestError, quoteName } from "../ingest/rules.ts";
import { type EntryAttrs, type TreeCounts, TreeBuilder } from "../ingest/tree.ts";
import type { FilePipeline } from "../ingest/index.ts";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Small files whose content the conversion needs after the layers (owner names, readme); larger ones are skipped. */
const CAPTURE_MAX_BYTES = 1024 * 1024;

export interface LayerCounts extends TreeCounts {
  /** Whiteout members applied (file and opaque). */
  whiteouts: number;
}

export class LayerTree {
  private readonly tree = new TreeBuilder("layer");
  /**
   * Content of the captured files (paths in `capturePaths`), by node. Weak: a node removed from the tree can no
   * longer be looked up, so its content needs no explicit dropping.
   */
  private readonly captured = new WeakMap<FileNode, Buffer>();
  private whiteouts = 0;

  constructor(
    private readonly pipeline: FilePipeline,
    /** Root-relative paths (`etc/passwd`) whose content to keep, see `capturedContent`. */
    private readonly capturePaths: ReadonlySet<string> = new Set(),
  ) {}

  get root(): DirNode {
    return this.tree.root;
  }

  /** Starts the next layer: entries of earlier layers become "below" for its whiteouts. */
  beginLayer(): void {
    this.tree.nextGeneration();
  }

  async apply(entry: ArchiveEntry): Promise<void> {
    const base = entry.parts[entry.parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry.parts, base);
    switch (entry.kind) {
      case "dir":
        return this.tree.addDirectory(entry.parts, entry.attrs, entry.entry);
      case "file": {
        this.tree.checkParent(entry.parts, entry.entry); // before reading: refuse early
        let body = entry.body;
        let copy: Buffer[] | undefined;
        if (this.capturePaths.has(entry.parts.join("/")) && entry.size <= CAPTURE_MAX_BYTES) body = tee(body, (copy = []));
        const { blocks } = await this.store(body, entry.size);
        const node = this.tree.addFile(entry.parts, entry.attrs, entry.size, blocks, entry.entry);
        if (copy) this.captured.set(node, Buffer.concat(copy));
        return;
      }
      case "link":
        return this.tree.addLink(entry.parts, entry.attrs, entry.target, entry.entry);
      case "special":
        return this.tree.addSpecial(entry.parts, entry.attrs, entry.type, entry.data, entry.entry);
      case "hardlink":
        return this.addHardlink(entry.parts, entry.target, entry.entry);
    }
  }

  /** Waits for every file's blocks and returns the root with children in zflist's listing order. */
  finish(): Promise<DirNode> {
    return this.tree.finish();
  }

  /** The captured content of the regular file now at `path` (root-relative), if it was captured. */
  capturedContent(path: string): Buffer | undefined {
    const node = this.tree.find(path.split("/"));
    return node?.kind === "file" ? this.captured.get(node) : undefined;
  }

  /** Adds a file made by the conversion itself (e.g. `/.startup.toml`) at a root-level name. */
  async addGeneratedFile(name: string, content: Buffer, attrs: EntryAttrs): Promise<void> {
    const { blocks } = await this.store(once(content), content.byteLength);
    this.tree.addFile([name], attrs, content.byteLength, blocks, name);
  }

  counts(): LayerCounts {
    return { ...this.tree.counts(), whiteouts: this.whiteouts };
  }

  /** Every node of the tree, the root first (for owner names). */
  nodes(): Generator<FlistNode> {
    return this.tree.nodes();
  }

  /** Sends a body into the chunk pipeline; its failure is reported by `finish()`, not as an unhandled rejection. */
  private async store(body: AsyncIterable<Uint8Array>, size: number): Promise<{ blocks: Promise<Block[]> }> {
    let blocks: Promise<Block[]> = Promise.resolve([]);
    if (size > 0) ({ blocks } = await this.pipeline.addFile(body));
    blocks.catch(() => {});
    return { blocks };
  }

  private whiteout(parts: string[], base: string): void {
    this.whiteouts++;
    const parent = parts.slice(0, -1);
    // The builder ignores a missing or non-directory parent (never follows a link to delete) and this layer's entries.
    if (base === OPAQUE) return this.tree.clearOlder(parent);
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk, …)
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") return;
    this.tree.removeOlder([...parent, name]);
  }

  /** Unlike a plain archive, the target must already exist (earlier in this layer or below), as `link(2)` needs. */
  private addHardlink(parts: string[], target: string[], entry: string): void {
    if (parts.length === 0) throw new IngestError(entry, "bad-name", "the root cannot be a hardlink");
    this.tree.checkParent(parts, entry);
    const found = this.tree.find(target, entry);
    if (found === undefined) {
      throw new IngestError(entry, "hardlink-missing", `hardlink target ${quoteName(target.join("/"))} is not in this layer or a layer below`);
    }
    const copy = this.tree.addHardlink(parts, target, entry);
    const content = found.kind === "file" ? this.captured.get(found) : undefined;
    if (copy?.kind === "file" && content !== undefined && this.capturePaths.has(parts.join("/"))) this.captured.set(copy, content);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* tee(source: AsyncIterable<Uint8Array>, copy: Buffer[]): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    copy.push(Buffer.from(chunk));
    yield chunk;
  }
}
