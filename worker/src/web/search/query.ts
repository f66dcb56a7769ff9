/**
 * Search across repositories, flist names and flist readmes (migrations/0005_search.sql explains the index).
 * Names: LIKE substring matches on `repositories`/`entries` (always current, no index to maintain). Readmes:
 * FTS5 over distinct blobs, joined with the entries that point at them now. The queries are the catalog
 * store's (catalog/store/d1-r2.ts); this module turns the user's text into their patterns.
 */
import { officialRepositories } from "../../config";
import type { Env } from "../../env";
import { catalogStore } from "../../catalog/store/d1-r2";
import type { EntryKind } from "../../catalog/store/rows";

export const SNIPPET_START = "\u0001";
export const SNIPPET_END = "\u0002";

export interface RepositoryHit {
  name: string;
  official: boolean;
  updated: number;
}

export interface EntryHit {
  repository: string;
  name: string;
  kind: EntryKind;
  updated: number;
  /** Readme hits: an excerpt with matches between SNIPPET_START and SNIPPET_END. */
  snippet?: string;
}

export interface SearchResults {
  q: string;
  repositories: RepositoryHit[];
  names: EntryHit[];
  readmes: EntryHit[];
}

/** `%`, `_` and `\` taken literally in a LIKE pattern (with `ESCAPE '\'`). */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * User text → FTS5 query: every word quoted (so FTS syntax in the input is just text), all required, the last
 * one as a prefix (results while typing). Null when nothing searchable is left.
 */
export function ftsQuery(text: string): string | null {
  const words = text
    .split(/\s+/)
    .map((w) => w.replace(/[\u0000-\u001f]/g, ""))
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 8);
  if (words.length === 0) return null;
  return words.map((w, i) => `"${w.replaceAll('"', '""')}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}

export async function search(env: Env, q: string, limit = 50): Promise<SearchResults> {
  const text = q.trim().slice(0, 200);
  if (text.length === 0) return { q: text, repositories: [], names: [], readmes: [] };
  const like = likePattern(text);
  const fts = ftsQuery(text);
  const { repositories, names, readmes } = await catalogStore(env).search(like, fts, limit);
  const official = officialRepositories(env);
  return {
    q: text,
    repositories: repositories
      .map((r) => ({ name: r.name, updated: r.updated, official: official.has(r.name) }))
      .sort((a, b) => Number(b.official) - Number(a.official)),
    names,
    readmes,
  };
}
