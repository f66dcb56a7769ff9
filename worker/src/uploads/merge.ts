/**
 * Merge requests (docs/compatibility.md §3.4, §5.3): the body is a JSON array of `repo/name[.flist]` sources, first = base,
 * checked in the original's order with its messages. Each source must resolve (links followed) to a flist and is
 * pinned to the bytes it has now, so the merge reads exactly what was asked for even if a name moves meanwhile.
 */
import { z } from "zod";
import { checkName, flistName } from "../names";
import { HubError } from "../http/errors";
import type { CatalogStore } from "../catalog/store/catalog-store";

export const MAX_MERGE_BODY = 64 * 1024;
export const MAX_MERGE_SOURCES = 64;

/**
 * The body's shape as published (docs/openapi.md). parseSources and resolveSources check it by hand, in the
 * original's order and with its messages, which a zod parse would not keep.
 */
export const mergeSourcesSchema = z
  .array(z.string().describe("`<repo>/<name>[.flist]`"))
  .min(1)
  .max(MAX_MERGE_SOURCES)
  .describe("the sources, the first one the base");

export interface MergeSource {
  repository: string;
  name: string;
  sha256: string;
}

/** The request body as the original parsed it (`get_json(force=True, silent=True)`): bad JSON = not a list. */
export function parseSources(text: string): unknown[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!Array.isArray(data)) throw new HubError(400, "malformed json request");
  if (data.length === 0) throw new HubError(400, "no source found");
  if (data.length > MAX_MERGE_SOURCES) throw new HubError(400, `too many sources (at most ${MAX_MERGE_SOURCES})`);
  return data;
}

/** Resolves every source to the flist it names now; 404 `<repo>/<name>.flist does not exists` otherwise. */
export async function resolveSources(store: CatalogStore, sources: unknown[]): Promise<MergeSource[]> {
  const out: MergeSource[] = [];
  for (const source of sources) {
    if (typeof source !== "string" || !source.includes("/")) throw new HubError(400, "malformed source filename");
    // The original looked at the first two segments only.
    const [repository = "", rawName = ""] = source.split("/");
    out.push(await resolveSource(store, repository, rawName));
  }
  return out;
}

/** One source `repository/rawName`, resolved to the flist it names now; a name the rule refuses is a 400. */
export async function resolveSource(store: CatalogStore, repository: string, rawName: string): Promise<MergeSource> {
  checkName(repository, "source repository");
  const name = flistName(rawName, "source name");
  const chain = await store.followChain(repository, name);
  if (!chain?.blob) throw new HubError(404, `${repository}/${name} does not exists`);
  return { repository, name, sha256: chain.blob.sha256 };
}

/** The target (from the URL or the website's form): present, no `/` (the original's message), a valid flist name. */
export function mergeTarget(target: string | undefined): string {
  if (!target) throw new HubError(400, "missing build (target) name");
  if (target.includes("/")) throw new HubError(400, "build name not allowed");
  return flistName(target, "target");
}
