/**
 * The hub's one name rule (docs/names.md), shared by the Worker (every route, the website) and the converter (which
 * re-checks the names of a job it is given): repositories, users, flists, links, tags, image path segments and
 * upload names all pass it. Unicode letters are fine (`☃-é`); refused are the names that are ambiguous as a path
 * or that display as something else: empty, `.`/`..`, `/` or `\` (WHATWG URL parsers read `\` as `/`), control
 * characters (C0, DEL, C1), bidirectional controls (`evil‮cod.exe` shows as `evilexe.doc`), line/paragraph
 * separators, unpaired surrogates, and more than 255 bytes of UTF-8. Repositories also may not take a route word.
 *
 * Dependency-free on purpose (not even TextEncoder): it runs in workerd and in Node, type-checked alone.
 */

export const MAX_NAME_BYTES = 255;

/**
 * Repository names that are the hub's own routes: every first path segment the Worker routes (`/api`, `/static`,
 * `/login`, …; worker/test/names.test.ts checks this list against the route table), `me` (`/api/flist/me` is
 * the caller's own repository), and the prefixes the platform claims before the Worker sees a request (`/cdn-cgi`
 * on Cloudflare, `/.well-known`).
 */
export const RESERVED_REPOSITORY_NAMES: ReadonlySet<string> = new Set([
  "me",
  "api",
  "internal",
  "listen",
  "streams",
  "images",
  "static",
  "login-method",
  "login",
  "logout",
  "token",
  "callback_threebot",
  "callback_token",
  "account",
  "search",
  "upload",
  "upload-flist",
  "merge",
  "docker-convert",
  "readonly",
  "jobs",
  "health",
  "cdn-cgi",
  ".well-known",
]);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Bidi formatting characters: ALM, LRM/RLM, embeddings and overrides (U+202A–E), isolates (U+2066–9). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const SEPARATOR = /[\u2028\u2029]/;
const LONE_SURROGATE = /\p{Cs}/u;

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

function utf8Length(value: string): number {
  let n = 0;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * The part of the rule about how text displays, for any label shown to people (token names, image titles): why
 * `value` holds a control, bidi or separator character or an unpaired surrogate, or null.
 */
export function textProblem(value: string): string | null {
  let m = CONTROL.exec(value);
  if (m) return `it contains a control character (${codePoint(m[0])})`;
  m = BIDI.exec(value);
  if (m) return `it contains a bidirectional text control (${codePoint(m[0])})`;
  m = SEPARATOR.exec(value);
  if (m) return `it contains a line or paragraph separator (${codePoint(m[0])})`;
  if (LONE_SURROGATE.test(value)) return "it contains an unpaired UTF-16 surrogate";
  return null;
}

/** Why `value` breaks the name rule (a phrase: "it contains a backslash"), or null when it is a good name. */
export function nameProblem(value: string): string | null {
  if (value.length === 0) return "it is empty";
  if (value === "." || value === "..") return "it is . or ..";
  if (value.includes("/")) return "it contains a slash";
  if (value.includes("\\")) return "it contains a backslash";
  const text = textProblem(value);
  if (text) return text;
  if (utf8Length(value) > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes in UTF-8`;
  return null;
}

/** The name rule plus the reserved route words: for every name that becomes (or acts as) a repository. */
export function repositoryProblem(value: string): string | null {
  const problem = nameProblem(value);
  if (problem) return problem;
  if (RESERVED_REPOSITORY_NAMES.has(value)) return "it is reserved for the hub's own routes";
  return null;
}

const SHOWN_MAX = 64;

/**
 * `value` in double quotes, safe to put in a message or a log line: `\` and `"` escaped, every control, format
 * (bidi, zero-width), separator, surrogate, private-use or unassigned character written `\uXXXX` (never raw),
 * cut after 64 characters.
 */
export function quoteName(value: string): string {
  const chars = [...value];
  const cut = chars.length > SHOWN_MAX ? chars.slice(0, SHOWN_MAX).join("") : value;
  const escaped = cut.replace(/[\\"]|[\p{C}\p{Zl}\p{Zp}]/gu, (ch) => {
    if (ch === "\\" || ch === '"') return `\\${ch}`;
    const cp = ch.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}${cut === value ? "" : "…"}"`;
}

/** The refusal text: `name "..\\evil" is not allowed: it contains a backslash`. */
export function refusal(value: string, problem: string): string {
  return `name ${quoteName(value)} is not allowed: ${problem}`;
}
