/**
 * Edge cache keys of the public catalog answers. Names are the stored, normalised names (`x.flist`), the same ones
 * a catalog change carries, so a purge (catalog/store/edge-purge.ts) computes exactly the keys the reads (edge/read.ts) used.
 */
import type { Env } from "../env";
import { edgeOrigin } from "./config";

type KeyEnv = Partial<Pick<Env, "HUB_PUBLIC_URL">>;

const VERSION = "v1";

function key(env: KeyEnv, ...parts: string[]): string {
  return `${edgeOrigin(env)}/.edge/${VERSION}/${parts.map(encodeURIComponent).join("/")}`;
}

export const edgeKeys = {
  /** What `/<repo>/<name>.flist` and `.flist.md5` resolve to (the blob row and the file's time). */
  flist: (env: KeyEnv, repository: string, name: string) => key(env, "flist", repository, name),
  /** `/api/flist/<repo>/<name>/light`. */
  light: (env: KeyEnv, repository: string, name: string) => key(env, "light", repository, name),
  /** `/api/flist/<repo>`. */
  listing: (env: KeyEnv, repository: string) => key(env, "listing", repository),
  /** `/api/flist`, `/api/repositories`, `/api/fileslist`: every change can alter them. */
  catalog: (env: KeyEnv, which: "paths" | "repositories" | "fileslist") => key(env, "catalog", which),
};

/** Every key an entry's change may make stale. */
export function entryKeys(env: KeyEnv, repository: string, name: string): string[] {
  return [edgeKeys.flist(env, repository, name), edgeKeys.light(env, repository, name)];
}

export function catalogKeys(env: KeyEnv): string[] {
  return [edgeKeys.catalog(env, "paths"), edgeKeys.catalog(env, "repositories"), edgeKeys.catalog(env, "fileslist")];
}
