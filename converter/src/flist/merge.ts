/**
 * Merging flists with zflist's semantics (`zflist open A; zflist merge B; …`,
 * `libflist/flist_merger.c`, docs/flist-format.md §4): the first flist wins.
 *
 * In every directory present in both trees:
 * 1. directories pass: each sub-directory of the later tree is merged recursively into the earlier
 *    tree's directory of the same name, or, when the name is absent, appended with its whole subtree;
 * 2. entries pass: each other entry of the later tree is appended when no entry of that name exists.
 * So existing entries keep their place and attributes, merged-in directories come next and other
 * merged-in entries last, each group in the later tree's order — the order zflist produces.
 *
 * Deviations from zflist, on purpose:
 * - a name clash between an earlier non-directory and a later directory keeps only the earlier
 *   entry (zflist appends the directory too, leaving two entries with one name);
 * - a merged-in directory keeps its own size and the ACL/times of its entry (zflist rebuilds the
 *   entry with size 4096 and the ACL/times of the directory record, which are the same in practice);
 * - duplicate names inside one input (left by zflist quirks) keep only their first entry.
 *
 * Metadata is not merged, as in zflist: the result keeps the first tree's metadata (backend,
 * entrypoint, …). Inputs are not modified; leaf nodes are shared between input and result.
 */
import type { DirNode, FlistNode, FlistTree } from "./model.ts";

/**
 * Copies the directories (leaves are shared) and keeps only the first entry of each name: zflist's
 * putdir/merge quirks can leave duplicate names in a flist, which first-match readers shadow anyway
 * and which the writer refuses.
 */
function cloneDir(dir: DirNode): DirNode {
  const seen = new Set<string>();
  const children: FlistNode[] = [];
  for (const c of dir.children) {
    if (seen.has(c.name)) continue;
    seen.add(c.name);
    children.push(c.kind === "dir" ? cloneDir(c) : c);
  }
  return { ...dir, children };
}

function firstOfEachName(nodes: readonly FlistNode[]): FlistNode[] {
  const seen = new Set<string>();
  return nodes.filter((n) => {
    if (seen.has(n.name)) return false;
    seen.add(n.name);
    return true;
  });
}

function mergeDir(local: DirNode, target: DirNode): DirNode {
  // `done[i]`: children[i] is already a fresh copy (merged or appended); the rest are copied at the end.
  const children = firstOfEachName(local.children);
  const done = children.map(() => false);
  const index = new Map<string, number>();
  children.forEach((c, i) => index.set(c.name, i));
  const append = (node: FlistNode): void => {
    index.set(node.name, children.length);
    children.push(node);
    done.push(true);
  };
  for (const t of target.children) {
    if (t.kind !== "dir") continue;
    const at = index.get(t.name);
    if (at === undefined) {
      append(cloneDir(t));
      continue;
    }
    const existing = children[at] as FlistNode;
    if (existing.kind === "dir") {
      children[at] = mergeDir(existing, t);
      done[at] = true;
    }
  }
  for (const t of target.children) {
    if (t.kind !== "dir" && !index.has(t.name)) append(t);
  }
  return { ...local, children: children.map((c, i) => (c.kind === "dir" && !done[i] ? cloneDir(c) : c)) };
}

/** `first` with `second` merged in (first wins on every name clash; first's metadata). */
export function merge(first: FlistTree, second: FlistTree): FlistTree {
  return { root: mergeDir(first.root, second.root), metadata: new Map(first.metadata) };
}

/** Merges in order: `trees[0]` wins over `trees[1]`, which wins over `trees[2]`, … */
export function mergeAll(trees: readonly FlistTree[]): FlistTree {
  const [head, ...rest] = trees;
  if (!head) throw new Error("mergeAll needs at least one flist");
  let result: FlistTree = { root: cloneDir(head.root), metadata: new Map(head.metadata) };
  for (const tree of rest) result = merge(result, tree);
  return result;
}
