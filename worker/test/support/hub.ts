/**
 * Helpers of the catalog test files: apply the migrations, publish fixture flists through the real internal
 * route, call the Worker as a client would (through `exports.default.fetch`, i.e. the whole app), mint tokens.
 */
import { env, exports } from "cloudflare:workers";
import { applyD1Migrations } from "cloudflare:test";
import { signToken } from "../../src/auth/tokens";

export const HUB = "http://hub.test";

export type FixtureName = "main" | "overlay" | "meta" | "edited" | "merged" | "empty";

export async function migrate(): Promise<void> {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
}

export function fetchHub(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(HUB + path, init));
}

export async function json<T = any>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T; res: Response }> {
  const res = await fetchHub(path, init);
  const body = (await res.json()) as T;
  return { status: res.status, body, res };
}

export function fixtureBytes(name: FixtureName): Uint8Array<ArrayBuffer> {
  const fixture = env.TEST_FIXTURES[name];
  if (!fixture) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(atob(fixture.flist), (ch) => ch.charCodeAt(0));
}

export function publishForm(bytes: Uint8Array<ArrayBuffer>, info: unknown): FormData {
  const form = new FormData();
  form.append("flist", new File([bytes], "x.flist", { type: "application/octet-stream" }));
  form.append("info", JSON.stringify(info));
  return form;
}

export const internalAuth = { Authorization: `Bearer ${env.INTERNAL_SECRET}` };

/** PUT /internal/publish/<repo>/<name> with a fixture's bytes, listing and metadata (overridable). */
export async function publish(
  repo: string,
  name: string,
  fixture: FixtureName = "main",
  options: { jobId?: string; metadata?: Record<string, unknown>; bytes?: Uint8Array<ArrayBuffer>; entries?: boolean } = {},
): Promise<{ status: number; body: any }> {
  const f = env.TEST_FIXTURES[fixture]!;
  const info = {
    jobId: options.jobId,
    contents: f.find,
    metadata: options.metadata ?? f.metadata,
    ...(options.entries ? { entries: fixtureEntryTypes(fixture) } : {}),
  };
  const res = await fetchHub(`/internal/publish/${encodeURIComponent(repo)}/${encodeURIComponent(name)}`, {
    method: "PUT",
    headers: internalAuth,
    body: publishForm(options.bytes ?? fixtureBytes(fixture), info),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * The publish info's entry types (protocol/publish.ts) of a fixture, from what the real zflist's `stat` says of
 * each path (not from this repository's converter), in the order of its `find` listing.
 */
export function fixtureEntryTypes(fixture: FixtureName): { types: string; targets: string[] } {
  const f = env.TEST_FIXTURES[fixture]!;
  const letter = (type: string) => (type === "directory" ? "d" : type === "regular file" ? "f" : type === "symlink" ? "l" : "s");
  const targets: string[] = [];
  let types = "";
  for (const { path } of f.find.content) {
    const stat = f.stat[path]!;
    types += letter(stat.type);
    if (stat.type === "symlink") targets.push(stat.linkto!);
  }
  return { types, targets };
}

export async function md5Hex(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("MD5", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function tokenFor(user: string): Promise<string> {
  return signToken(env.HUB_SIGNING_SEED, user, Math.floor(Date.now() / 1000) - 5);
}

/** Headers of an authenticated call as `zflist hub` sends them. */
export async function asUser(user: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await tokenFor(user)}`, ...extra };
}

/** Calls an `/api/flist/me/...` route as `user` (GET unless told otherwise) and returns status + JSON body. */
export async function me(user: string, path: string, method = "GET", extra: Record<string, string> = {}) {
  return json(`/api/flist/me${path}`, { method, headers: await asUser(user, extra) });
}

/** Every catalog table, for "nothing changed" assertions. */
export async function dumpCatalog(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ["repositories", "entries", "tags", "tag_members", "blobs", "entry_versions", "publish_jobs"]) {
    out[table] = (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()).results;
  }
  return out;
}

export async function r2Count(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.FLISTS.list({ cursor });
    count += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return count;
}

/** Sets a repository's `updated` far in the past, so a later change is visible without waiting a second. */
export async function ageRepository(repo: string, updated = 1000): Promise<void> {
  await env.DB.prepare("UPDATE repositories SET updated = ?2 WHERE name = ?1").bind(repo, updated).run();
}
