/**
 * Builds a `FlistTree` from entries arriving in any order (tar members, directory walk), enforcing the structural
 * rules of rules.ts as it goes, and produces zflist's listing order at the end.
 *
 * Decisions (documented in the ingest README section of index.ts):
 * - Duplicate paths: the later entry wins, as with `tar -x`. A directory over a directory keeps the children and
 *   takes the new attributes; anything else replaces the earlier node (and its subtree).
 * - Directories implied by a path but absent from the archive are created 0755 root:root, times 0, size 4096.
 * - Hardlinks become independent nodes sharing the target's blocks (zflist does the same). The target is normally
 *   earlier in the stream; a forward reference is resolved once every entry is known, and fails if still missing.
 * - OCI layers (oci/layers.ts) share this builder: they need entries removed (whiteouts) and to know which layer an
 *   entry came from, hence `nextGeneration`, `removeOlder` and `clearOlder`. A plain archive stays in generation 0.
 */
import type { Block, DirNode, FileNode, FlistNode, LinkNode, Owner, SpecialNode, SpecialType } from "../flist/model.ts";
import { IngestError, quoteName } from "./rules.ts";

/** Attributes common to every entry, already normalised (permission bits only, u32 seconds). */
export interface EntryAttrs {
  mode: number;
  owner: Owner;
  mtime: number;
  ctime: number;
}

export const ROOT_OWNER: Owner = { uid: 0, gid: 0, user: "root", group: "root" };
/** Size zflist gives directories it creates itself (mkdir, merge); tar headers carry no directory size. */
export const DIR_SIZE = 4096;

const IMPLIED_DIR: EntryAttrs = { mode: 0o755, owner: ROOT_OWNER, mtime: 0, ctime: 0 };

export interface TreeCounts {
  directory: number;
  regular: number;
  symlink: number;
  special: number;
}

interface PendingHardlink {
  parts: string[];
  target: string[];
  entry: string;
}

/** Build-time state of a file whose blocks are still being produced by the chunk pipeline. */
type PendingBlocks = Promise<Block[]>;

export class TreeBuilder {
  readonly root: DirNode;
  /** Children by name for every directory; turned into the sorted `children` arrays by `finish()`. */
  private readonly index = new Map<DirNode, Map<string, FlistNode>>();
  private readonly blocks = new Map<FileNode, PendingBlocks>();
  /** Forward hardlinks by joined path; a later entry at the same path cancels them (later wins). */
  private readonly pending = new Map<string, PendingHardlink>();
  /** The generation each node was created or last changed in; entries of the current one are never removed. */
  private readonly generations = new WeakMap<FlistNode, number>();
  private generation = 0;

  /** `rootName` words the error for a non-directory at the root ("archive", or "layer" for image layers). */
  constructor(private readonly rootName = "archive") {
    this.root = newDir("", IMPLIED_DIR, DIR_SIZE);
    this.index.set(this.root, new Map());
  }

  /** Starts a new generation (an image layer): everything so far becomes removable by `removeOlder`/`clearOlder`. */
  nextGeneration(): void {
    this.generation++;
  }

  /** The archive's own `./` entry (or the walked directory) gives the root its attributes. */
  setRootAttrs(attrs: EntryAttrs, size = DIR_SIZE): void {
    Object.assign(this.root, attrs, { owner: { ...attrs.owner }, size });
    this.generations.set(this.root, this.generation);
  }

  addDirectory(parts: string[], attrs: EntryAttrs, entry: string, size = DIR_SIZE): void {
    if (parts.length === 0) return this.setRootAttrs(attrs, size);
    const { dir, name } = this.parentOf(parts, entry);
    const existing = this.childrenOf(dir).get(name);
    this.pending.delete(parts.join("/"));
    if (existing?.kind === "dir") {
      Object.assign(existing, attrs, { owner: { ...attrs.owner }, size });
      this.generations.set(existing, this.generation);
      return;
    }
    const node = newDir(name, attrs, size);
    this.index.set(node, new Map());
    this.put(dir, node);
  }

  /** Returns the new node, so callers can attach their own data to it (OCI keeps some files' content). */
  addFile(parts: string[], attrs: EntryAttrs, size: number, blocks: PendingBlocks, entry: string): FileNode {
    const node: FileNode = { kind: "file", name: "", ...attrs, size, blocks: [] };
    this.blocks.set(node, blocks);
    this.insert(parts, node, entry);
    return node;
  }

  addLink(parts: string[], attrs: EntryAttrs, target: string, entry: string): void {
    const node: LinkNode = { kind: "link", name: "", ...attrs, size: Buffer.byteLength(target), target };
    this.insert(parts, node, entry);
  }

  addSpecial(parts: string[], attrs: EntryAttrs, type: SpecialType, data: string, entry: string): void {
    const node: SpecialNode = { kind: "special", name: "", ...attrs, size: 0, type, data };
    this.insert(parts, node, entry);
  }

  /**
   * `parts` becomes another name of the node at `target` (both relative to the root). With the target already known,
   * the copy is made now (so a later replacement of the target does not affect it, as with `tar -x`) and returned;
   * otherwise it is made by `finish()` and undefined is returned.
   */
  addHardlink(parts: string[], target: string[], entry: string): Exclude<FlistNode, DirNode> | undefined {
    if (parts.length === 0) throw new IngestError(entry, "bad-name", "the root cannot be a hardlink");
    const found = this.find(target, entry);
    if (found === undefined) {
      // Check the parent now so structural errors are reported at the right entry.
      this.parentOf(parts, entry);
      this.pending.set(parts.join("/"), { parts, target, entry });
      return undefined;
    }
    const copy = this.copyOf(found, target, entry);
    this.insert(parts, copy, entry);
    return copy;
  }

  /**
   * Removes the node at `parts` (and its subtree) unless it comes from the current generation: an OCI whiteout
   * never hides an entry of its own layer. Never follows a symlink to find it.
   */
  removeOlder(parts: string[]): void {
    const dir = this.find(parts.slice(0, -1));
    if (dir?.kind !== "dir") return;
    const children = this.childrenOf(dir);
    const name = parts[parts.length - 1] as string;
    const victim = children.get(name);
    if (victim === undefined || this.isCurrent(victim)) return;
    this.forget(victim);
    children.delete(name);
  }

  /** Empties the directory at `parts` of older generations, recursively keeping the current one's entries (OCI opaque). */
  clearOlder(parts: string[]): void {
    const dir = this.find(parts);
    if (dir?.kind === "dir") this.clearOlderIn(dir);
  }

  /**
   * Checks (and creates implied directories for) the parent of `parts` now, so that a file in a forbidden place
   * fails before its bytes are read and stored.
   */
  checkParent(parts: string[], entry: string): void {
    this.parentOf(parts, entry);
  }

  /**
   * The node at `parts`, or undefined. A symlink on the way fails with `hardlink-escape` when `entry` (a hardlink
   * being resolved) is given, else simply ends the walk: a hardlink must not escape through one, nor a deletion.
   */
  find(parts: string[], entry?: string): FlistNode | undefined {
    let node: FlistNode = this.root;
    for (const part of parts) {
      if (node.kind === "link" && entry !== undefined) {
        throw new IngestError(entry, "hardlink-escape", `hardlink target ${quoteName(parts.join("/"))} goes through a symlink`);
      }
      if (node.kind !== "dir") return undefined;
      const next = this.childrenOf(node).get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** Resolve forward hardlinks, wait for every file's blocks, and return the root in zflist's listing order. */
  async finish(): Promise<DirNode> {
    for (const link of [...this.pending.values()]) {
      this.pending.delete(link.parts.join("/"));
      const found = this.find(link.target, link.entry);
      if (found === undefined) {
        throw new IngestError(link.entry, "hardlink-missing", `hardlink target ${quoteName(link.target.join("/"))} is not in the archive`);
      }
      this.insert(link.parts, this.copyOf(found, link.target, link.entry), link.entry);
    }
    await Promise.all(
      [...this.blocks].map(async ([node, blocks]) => {
        node.blocks = await blocks;
      }),
    );
    this.blocks.clear();
    for (const [dir, children] of this.index) dir.children = listingOrder([...children.values()]);
    return this.root;
  }

  counts(): TreeCounts {
    const counts: TreeCounts = { directory: 0, regular: 0, symlink: 0, special: 0 };
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

  /** Every node of the tree, the root first (order otherwise unspecified). */
  *nodes(): Generator<FlistNode> {
    yield this.root;
    for (const children of this.index.values()) yield* children.values();
  }

  private isCurrent(node: FlistNode): boolean {
    return this.generations.get(node) === this.generation;
  }

  private clearOlderIn(dir: DirNode): void {
    const children = this.childrenOf(dir);
    for (const [name, child] of [...children]) {
      if (!this.isCurrent(child)) {
        this.forget(child);
        children.delete(name);
      } else if (child.kind === "dir") {
        this.clearOlderIn(child);
      }
    }
  }

  private copyOf(node: FlistNode, target: string[], entry: string): Exclude<FlistNode, DirNode> {
    if (node.kind === "dir") {
      throw new IngestError(entry, "hardlink-to-directory", `hardlink target ${quoteName(target.join("/") || ".")} is a directory`);
    }
    const copy = { ...node, owner: { ...node.owner } };
    if (node.kind === "file" && copy.kind === "file") {
      const blocks = this.blocks.get(node);
      if (blocks !== undefined) this.blocks.set(copy, blocks);
      else copy.blocks = [...node.blocks];
    }
    return copy;
  }

  private insert(parts: string[], node: Exclude<FlistNode, DirNode>, entry: string): void {
    const { dir, name } = this.parentOf(parts, entry);
    this.pending.delete(parts.join("/"));
    node.name = name;
    this.put(dir, node);
  }

  /** Replaces any earlier node of the same name (later wins), dropping a replaced directory's subtree. */
  private put(dir: DirNode, node: FlistNode): void {
    const children = this.childrenOf(dir);
    const previous = children.get(node.name);
    if (previous !== undefined) this.forget(previous);
    children.set(node.name, node);
    this.generations.set(node, this.generation);
  }

  private forget(node: FlistNode): void {
    if (node.kind === "file") this.blocks.delete(node);
    if (node.kind !== "dir") return;
    const children = this.index.get(node);
    this.index.delete(node);
    for (const child of children?.values() ?? []) this.forget(child);
  }

  /** The directory that will hold `parts`, creating implied directories; symlinked or non-directory parents fail. */
  private parentOf(parts: string[], entry: string): { dir: DirNode; name: string } {
    if (parts.length === 0) throw new IngestError(entry, "bad-name", `only a directory can be the ${this.rootName} root`);
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i] as string;
      const children = this.childrenOf(dir);
      let next = children.get(part);
      if (next === undefined) {
        const here = parts.slice(0, i + 1).join("/");
        if (this.pending.has(here)) {
          throw new IngestError(entry, "parent-not-directory", `parent ${quoteName(here)} is a hardlink, not a directory`);
        }
        next = newDir(part, IMPLIED_DIR, DIR_SIZE);
        this.index.set(next, new Map());
        children.set(part, next);
        this.generations.set(next, this.generation);
      }
      if (next.kind === "link") {
        throw new IngestError(entry, "symlink-parent", `parent ${quoteName(parts.slice(0, i + 1).join("/"))} is a symlink`);
      }
      if (next.kind !== "dir") {
        throw new IngestError(entry, "parent-not-directory", `parent ${quoteName(parts.slice(0, i + 1).join("/"))} is not a directory`);
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

function newDir(name: string, attrs: EntryAttrs, size: number): DirNode {
  return { kind: "dir", name, ...attrs, owner: { ...attrs.owner }, size, children: [] };
}

/** zflist putdir order: sub-directories first, then everything else, each sorted by the bytes of the name (strcmp). */
export function listingOrder(nodes: FlistNode[]): FlistNode[] {
  const keyed = nodes.map((node) => ({ node, key: Buffer.from(node.name, "utf8") }));
  const byName = (a: { key: Buffer }, b: { key: Buffer }) => Buffer.compare(a.key, b.key);
  const dirs = keyed.filter((k) => k.node.kind === "dir").sort(byName);
  const rest = keyed.filter((k) => k.node.kind !== "dir").sort(byName);
  return [...dirs, ...rest].map((k) => k.node);
}
