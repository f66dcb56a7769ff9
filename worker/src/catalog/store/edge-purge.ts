/**
 * Invalidation of the edge cache (docs/catalog-api.md "Edge cache"). Every catalog write goes through a store's
 * `commit` or `publish`; this wrapper deletes, once the write committed, every key the write may have made stale:
 * the changed entries, the links that resolve through them (followed backwards, any repository, any depth), the
 * listings of every repository involved, and the whole-catalog answers. A cache delete only reaches the data centre
 * that runs it, so elsewhere the TTL (worker/src/edge/config.ts) is what bounds staleness.
 */
import type { Env } from "../../env";
import { edgeCache } from "../../cost/meter";
import type { CatalogChange, CatalogStore, LinkTarget } from "./catalog-store";
import { edgeSeconds } from "../../edge/config";
import { memoryTier } from "../../edge/memory";
import { catalogKeys, edgeKeys, entryKeys } from "../../edge/keys";

type PurgeEnv = Partial<Pick<Env, "HUB_PUBLIC_URL" | "HUB_EDGE_CACHE_SECONDS" | "HUB_MEMORY_CACHE_MB">>;

/** What a list of changes touched: entry names (links may point at them) and tags (taglinks may). */
export function changedTargets(changes: CatalogChange[]): LinkTarget[] {
  const out: LinkTarget[] = [];
  for (const change of changes) {
    switch (change.op) {
      case "putEntry":
        out.push({ repository: change.entry.repository, name: change.entry.name, kind: "symlink" });
        break;
      case "deleteEntry":
        out.push({ repository: change.repository, name: change.name, kind: "symlink" });
        break;
      case "renameEntry":
        out.push({ repository: change.repository, name: change.from, kind: "symlink" });
        out.push({ repository: change.repository, name: change.to, kind: "symlink" });
        break;
      case "touchTag":
      case "deleteTagIfEmpty":
      case "putTagMember":
      case "deleteTagMember":
        out.push({ repository: change.repository, name: change.tag, kind: "taglink" });
        break;
      default:
        // expect* steps write nothing; archive and touchRepository come with a putEntry/deleteEntry of the same
        // name or only change the repository's listing, which every purge deletes anyway.
        break;
    }
  }
  return out;
}

function changedRepositories(changes: CatalogChange[]): string[] {
  return [...new Set(changes.flatMap((c) => ("repository" in c ? [c.repository] : [c.entry.repository])))];
}

/** The keys a write makes stale by itself: its names, its repositories' listings, the whole-catalog answers. */
export function directKeys(env: PurgeEnv, changes: CatalogChange[]): string[] {
  const keys = new Set(catalogKeys(env));
  for (const t of changedTargets(changes)) if (t.kind === "symlink") for (const k of entryKeys(env, t.repository, t.name)) keys.add(k);
  for (const r of changedRepositories(changes)) keys.add(edgeKeys.listing(env, r));
  return [...keys];
}

/** The keys of the links that resolve through what changed (one D1 query), and of their repositories' listings. */
export async function dependentKeys(env: PurgeEnv, store: CatalogStore, changes: CatalogChange[]): Promise<string[]> {
  const targets = changedTargets(changes);
  if (targets.length === 0) return [];
  const keys = new Set<string>();
  for (const dependent of await store.linksInto(targets)) {
    keys.add(edgeKeys.listing(env, dependent.repository));
    if (dependent.kind === "symlink") for (const k of entryKeys(env, dependent.repository, dependent.name)) keys.add(k);
  }
  return [...keys];
}

/** Deletes the direct keys while the query for the dependent ones runs, then those (a write waits for one of each). */
async function purge(env: PurgeEnv, store: CatalogStore, changes: CatalogChange[]): Promise<void> {
  const cache = edgeCache(env);
  const memory = memoryTier(env);
  const remove = (keys: string[]) => {
    memory?.deleteTexts(keys);
    return Promise.all(keys.map((k) => cache.delete(new Request(k))));
  };
  await Promise.all([remove(directKeys(env, changes)), dependentKeys(env, store, changes).then(remove)]);
}

/** `store`, whose successful writes purge what they made stale before they return. */
export function purgingEdge(store: CatalogStore, env: PurgeEnv): CatalogStore {
  if (edgeSeconds(env) <= 0) return store;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "commit") {
        return async (changes: CatalogChange[], now: number) => {
          const outcome = await target.commit(changes, now);
          if (outcome === "committed") await purge(env, target, changes);
          return outcome;
        };
      }
      if (prop === "publish") {
        return async (publication: Parameters<CatalogStore["publish"]>[0], now: number) => {
          const outcome = await target.publish(publication, now);
          if (outcome === "published") await purge(env, target, publication.changes);
          return outcome;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
