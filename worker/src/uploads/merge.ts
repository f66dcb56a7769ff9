/**
 * Merge requests (hub-api.md §5.3, §7.4): the body is a JSON array of `repo/name[.flist]` sources, first = base,
 * checked in the original's order with its messages. Each source must resolve (links followed) to a flist and is
 * pinned to the bytes it has now, so the merge reads exactly what was asked for even if a name moves meanwhile.
 */
import { FLIST_SUFFIX, nameProblem, stripFlist } from "../catalog/names";
import { HubError } from "../http/errors";
import { followChain } from "../storage/catalog-reads";

export const MAX_MERGE_BODY = 64 * 1024;
export const MAX_MERGE_SOURCES = 64;

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
export async function resolveSources(db: D1Database, sources: unknown[]): Promise<MergeSource[]> {
  const out: MergeSource[] = [];
  for (const source of sources) {
    if (typeof source !== "string" || !source.includes("/")) throw new HubError(400, "malformed source filename");
    // The original looked at the first two segments only.
    const [repository = "", rawName = ""] = source.split("/");
    const name = stripFlist(rawName) + FLIST_SUFFIX;
    const shown = `${repository}/${name}`;
    const valid = !nameProblem(repository) && !nameProblem(rawName) && name !== FLIST_SUFFIX;
    const chain = valid ? await followChain(db, repository, name) : null;
    if (!chain?.blob) throw new HubError(404, `${shown} does not exists`);
    out.push({ repository, name, sha256: chain.blob.sha256 });
  }
  return out;
}

/** The target from the URL: present, no `/`, a valid name; `.flist` appended. */
export function mergeTarget(target: string | undefined): string {
  if (!target) throw new HubError(400, "missing build (target) name");
  if (target.includes("/")) throw new HubError(400, "build name not allowed");
  const problem = nameProblem(target);
  if (problem) throw new HubError(400, `invalid target: ${problem}`);
  const name = target.endsWith(FLIST_SUFFIX) ? target : target + FLIST_SUFFIX;
  const full = nameProblem(name);
  if (name === FLIST_SUFFIX || full) throw new HubError(400, `invalid target: ${full ?? "empty name"}`);
  return name;
}
