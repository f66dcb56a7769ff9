/**
 * Search across repositories, flist names and flist readmes (migrations/0005_search.sql explains the index).
 * Names: LIKE substring matches on `repositories`/`entries` (always current, no index to maintain). Readmes:
 * FTS5 over distinct blobs, joined with the entries that point at them now.
 */
import { officialRepositories } from "../../config";
import type { Env } from "../../env";
import type { EntryKind } from "../../storage/rows";

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

const REPOSITORIES_SQL = `SELECT name, updated FROM repositories WHERE name LIKE ?1 ESCAPE '\\' ORDER BY name LIMIT ?2`;
const NAMES_SQL = `SELECT repository, name, kind, updated FROM entries
                    WHERE name LIKE ?1 ESCAPE '\\' OR (repository || '/' || name) LIKE ?1 ESCAPE '\\'
                    ORDER BY updated DESC LIMIT ?2`;
const READMES_SQL = `WITH hits AS (
    SELECT r.sha256, snippet(search_readmes_fts, 0, char(1), char(2), '…', 16) AS snippet, f.rank AS rank
      FROM search_readmes_fts f JOIN search_readmes r ON r.id = f.rowid
     WHERE search_readmes_fts MATCH ?1 ORDER BY f.rank LIMIT ?2)
  SELECT e.repository, e.name, e.kind, e.updated, h.snippet
    FROM hits h JOIN entries e ON e.blob = h.sha256 AND e.kind = 'regular'
   ORDER BY h.rank, e.updated DESC LIMIT ?2`;

export async function search(env: Env, q: string, limit = 50): Promise<SearchResults> {
  const text = q.trim().slice(0, 200);
  if (text.length === 0) return { q: text, repositories: [], names: [], readmes: [] };
  const like = likePattern(text);
  const fts = ftsQuery(text);
  const db = env.DB;
  const statements = [
    db.prepare(REPOSITORIES_SQL).bind(like, limit),
    db.prepare(NAMES_SQL).bind(like, limit),
    ...(fts ? [db.prepare(READMES_SQL).bind(fts, limit)] : []),
  ];
  const [repositories, names, readmes] = await db.batch(statements);
  const official = officialRepositories(env);
  const repoRows = (repositories?.results ?? []) as { name: string; updated: number }[];
  return {
    q: text,
    repositories: repoRows
      .map((r) => ({ name: r.name, updated: r.updated, official: official.has(r.name) }))
      .sort((a, b) => Number(b.official) - Number(a.official)),
    names: (names?.results ?? []) as EntryHit[],
    readmes: (readmes?.results ?? []) as EntryHit[],
  };
}
