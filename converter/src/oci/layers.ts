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
 * This is a small adapter next to ingest's TreeBuilder rather than a use of it: the TreeBuilder has no notion of
 * deleting entries or of which layer an entry came from, which whiteouts need.
 */
import type { Block, DirNode, FileNode, FlistNode, LinkNode, Owner, SpecialNode } from "../flist/model.ts";
import type { ArchiveEntry } from "../ingest/tar.ts";
import { IngestError } from "../ingest/rules.ts";
import { DIR_SIZE, ROOT_OWNER, type EntryAttrs, type TreeCounts, listingOrder } from "../ingest/tree.ts";
import type { FilePipeline } from "../ingest/index.ts";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
const IMPLIED_DIR: EntryAttrs = { mode: 0o755, owner: ROOT_OWNER, mtime: 0, ctime: 0 };
/** Small files whose content the conversion needs after the layers (owner names, readme); larger ones are skipped. */
const CAPTURE_MAX_BYTES = 1024 * 1024;

export interface LayerCounts extends TreeCounts {
  /** Whiteout members applied (file and opaque). */
  whiteouts: number;
}

export class LayerTree {
  readonly root: DirNode;
  private readonly index = new Map<DirNode, Map<string, FlistNode>>();
  private readonly blocks = new Map<FileNode, Promise<Block[]>>();
  /** Nodes created or changed by the layer being applied: whiteouts of that layer leave them alone. */
  private touched = new Set<FlistNode>();
  /** Content of the captured files (paths in `capturePaths`), by node. */
  private readonly captured = new Map<FileNode, Buffer>();
  private whiteouts = 0;

  constructor(
    private readonly pipeline: FilePipeline,
    /** Root-relative paths (`etc/passwd`) whose content to keep, see `capturedContent`. */
    private readonly capturePaths: ReadonlySet<string> = new Set(),
  ) {
    this.root = newDir("", IMPLIED_DIR);
    this.index.set(this.root, new Map());
  }

  /** Starts the next layer: entries of earlier layers become "below" for its whiteouts. */
  beginLayer(): void {
    this.touched = new Set();
  }

  async apply(entry: ArchiveEntry): Promise<void> {
    const base = entry.parts[entry.parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry.parts, base);
    switch (entry.kind) {
      case "dir":
        return this.addDirectory(entry.parts, entry.attrs, entry.entry);
      case "file": {
        const { dir, name } = this.parentOf(entry.parts, entry.entry); // before reading: refuse early
        const node: FileNode = { kind: "file", name, ...entry.attrs, size: entry.size, blocks: [] };
        let body = entry.body;
        let copy: Buffer[] | undefined;
        if (this.capturePaths.has(entry.parts.join("/")) && entry.size <= CAPTURE_MAX_BYTES) body = tee(body, (copy = []));
        let blocks: Promise<Block[]> = Promise.resolve([]);
        if (entry.size > 0) ({ blocks } = await this.pipeline.addFile(body));
        blocks.catch(() => {}); // reported by finish()
        this.blocks.set(node, blocks);
        if (copy) this.captured.set(node, Buffer.concat(copy));
        this.put(dir, node);
        return;
      }
      case "link": {
        const { dir, name } = this.parentOf(entry.parts, entry.entry);
        const node: LinkNode = { kind: "link", name, ...entry.attrs, size: Buffer.byteLength(entry.target), target: entry.target };
        return this.put(dir, node);
      }
      case "special": {
        const { dir, name } = this.parentOf(entry.parts, entry.entry);
        const node: SpecialNode = { kind: "special", name, ...entry.attrs, size: 0, type: entry.type, data: entry.data };
        return this.put(dir, node);
      }
      case "hardlink":
        return this.addHardlink(entry.parts, entry.target, entry.entry);
    }
  }

  /** Waits for every file's blocks and returns the root with children in zflist's listing order. */
  async finish(): Promise<DirNode> {
    await Promise.all(
      [...this.blocks].map(async ([node, blocks]) => {
        node.blocks = await blocks;
      }),
    );
    this.blocks.clear();
    for (const [dir, children] of this.index) dir.children = listingOrder([...children.values()]);
    return this.root;
  }

  /** The captured content of the regular file now at `path` (root-relative), if it was captured. */
  capturedContent(path: string): Buffer | undefined {
    const node = this.lookup(path.split("/"));
    return node?.kind === "file" ? this.captured.get(node) : undefined;
  }

  /** Adds a file made by the conversion itself (e.g. `/.startup.toml`) at a root-level name. */
  async addGeneratedFile(name: string, content: Buffer, attrs: EntryAttrs): Promise<void> {
    const node: FileNode = { kind: "file", name, ...attrs, size: content.byteLength, blocks: [] };
    let blocks: Promise<Block[]> = Promise.resolve([]);
    if (content.byteLength > 0) ({ blocks } = await this.pipeline.addFile(once(content)));
    blocks.catch(() => {});
    this.blocks.set(node, blocks);
    this.put(this.root, node);
  }

  counts(): LayerCounts {
    const counts: LayerCounts = { directory: 0, regular: 0, symlink: 0, special: 0, whiteouts: this.whiteouts };
    for (const children of this.index.values()) {
      for (const node of children.values()) {
        if (node.kind === "dir") counts.directory++;
        else if (node.kind === "file") counts.regular++;
        else if (node.kind === "link") counts.symlink++;
        else counts.special++;
      }
    }
    return counts;
  }

  /** Every node of the tree, depth first (for owner names). */
  *nodes(): Generator<FlistNode> {
    yield this.root;
    for (const children of this.index.values()) yield* children.values();
  }

  private whiteout(parts: string[], base: string): void {
    this.whiteouts++;
    const dir = this.lookup(parts.slice(0, -1));
    // Nothing below to hide (or the parent is not a directory of ours: never follow a link to delete).
    if (dir?.kind !== "dir") return;
    const children = this.childrenOf(dir);
    if (base === OPAQUE) {
      this.hideLower(dir);
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk, …)
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") return;
    const victim = children.get(name);
    if (victim === undefined || this.touched.has(victim)) return;
    this.forget(victim);
    children.delete(name);
  }

  /** Opaque directory: drop everything that came from lower layers, recursively keeping this layer's entries. */
  private hideLower(dir: DirNode): void {
    const children = this.childrenOf(dir);
    for (const [name, child] of [...children]) {
      if (!this.touched.has(child)) {
        this.forget(child);
        children.delete(name);
      } else if (child.kind === "dir") {
        this.hideLower(child);
      }
    }
  }

  private addDirectory(parts: string[], attrs: EntryAttrs, entry: string): void {
    if (parts.length === 0) {
      Object.assign(this.root, attrs, { owner: { ...attrs.owner }, size: DIR_SIZE });
      this.touched.add(this.root);
      return;
    }
    const { dir, name } = this.parentOf(parts, entry);
    const existing = this.childrenOf(dir).get(name);
    if (existing?.kind === "dir") {
      Object.assign(existing, attrs, { owner: { ...attrs.owner }, size: DIR_SIZE });
      this.touched.add(existing);
      return;
    }
    const node = newDir(name, attrs);
    this.index.set(node, new Map());
    this.put(dir, node);
  }

  private addHardlink(parts: string[], target: string[], entry: string): void {
    if (parts.length === 0) throw new IngestError(entry, "bad-name", "the root cannot be a hardlink");
    const { dir, name } = this.parentOf(parts, entry);
    const found = this.lookup(target, entry);
    if (found === undefined) {
      throw new IngestError(entry, "hardlink-missing", `hardlink target '${target.join("/")}' is not in this layer or a layer below`);
    }
    if (found.kind === "dir") {
      throw new IngestError(entry, "hardlink-to-directory", `hardlink target '${target.join("/") || "."}' is a directory`);
    }
    const copy = { ...found, name, owner: { ...found.owner } } as Exclude<FlistNode, DirNode>;
    if (found.kind === "file" && copy.kind === "file") {
      const blocks = this.blocks.get(found);
      if (blocks !== undefined) this.blocks.set(copy, blocks);
      else copy.blocks = [...found.blocks];
      const content = this.captured.get(found);
      if (content !== undefined && this.capturePaths.has(parts.join("/"))) this.captured.set(copy, content);
    }
    this.put(dir, copy);
  }

  /** The node at `parts`, or undefined. A symlink on the way fails for hardlinks (`entry` given), else ends the walk. */
  private lookup(parts: string[], entry?: string): FlistNode | undefined {
    let node: FlistNode = this.root;
    for (const part of parts) {
      if (node.kind === "link" && entry !== undefined) {
        throw new IngestError(entry, "hardlink-escape", `hardlink target '${parts.join("/")}' goes through a symlink`);
      }
      if (node.kind !== "dir") return undefined;
      const next = this.childrenOf(node).get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** Replaces any earlier node of the same name, dropping a replaced directory's subtree. */
  private put(dir: DirNode, node: FlistNode): void {
    const children = this.childrenOf(dir);
    const previous = children.get(node.name);
    if (previous !== undefined && previous !== node) this.forget(previous);
    children.set(node.name, node);
    this.touched.add(node);
  }

  private forget(node: FlistNode): void {
    if (node.kind === "file") {
      this.blocks.delete(node);
      this.captured.delete(node);
    }
    this.touched.delete(node);
    if (node.kind !== "dir") return;
    const children = this.index.get(node);
    this.index.delete(node);
    for (const child of children?.values() ?? []) this.forget(child);
  }

  /** The directory that will hold `parts`, creating implied directories; symlinked or non-directory parents fail. */
  private parentOf(parts: string[], entry: string): { dir: DirNode; name: string } {
    if (parts.length === 0) throw new IngestError(entry, "bad-name", "only a directory can be the layer root");
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i] as string;
      const children = this.childrenOf(dir);
      let next = children.get(part);
      if (next === undefined) {
        next = newDir(part, IMPLIED_DIR);
        this.index.set(next, new Map());
        children.set(part, next);
        this.touched.add(next);
      }
      if (next.kind === "link") {
        throw new IngestError(entry, "symlink-parent", `parent '${parts.slice(0, i + 1).join("/")}' is a symlink`);
      }
      if (next.kind !== "dir") {
        throw new IngestError(entry, "parent-not-directory", `parent '${parts.slice(0, i + 1).join("/")}' is not a directory`);
      }
      dir = next;
    }
    return { dir, name: parts[parts.length - 1] as string };
  }

  private childrenOf(dir: DirNode): Map<string, FlistNode> {
    const children = this.index.get(dir);
    if (children === undefined) throw new Error(`internal: directory '${dir.name}' is not indexed`);
    return children;
  }
}

function newDir(name: string, attrs: EntryAttrs): DirNode {
  return { kind: "dir", name, ...attrs, owner: { ...attrs.owner } as Owner, size: DIR_SIZE, children: [] };
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
