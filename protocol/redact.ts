/**
 * Tokens never reach a log (docs/names.md "Tokens and logs"). `redactSecrets` is the one function every line of
 * the local runtime goes through before it is relayed or kept (scripts/lib/processes.ts: the converter's and
 * wrangler's output, request lines included), and what the Worker applies to the error text it logs. It removes:
 *
 *   - the path segment after `/token/` (the original's `GET /token/<token>` page);
 *   - the value of `token`, `access_token`, `signedAttempt` and `password` parameters (`?token=…`, `&password=…`);
 *   - the value of an `Authorization` header and the word after `Bearer`;
 *   - any run of 96 or more base64url characters: the shape of a hub token (64-byte signature ‖ payload) wherever
 *     else it may appear.
 *
 * Dependency-free: it runs in Node (scripts) and in workerd.
 */

export const REDACTED = "<redacted>";

const RULES: [RegExp, string][] = [
  [/(\/token\/)[^\s/?#"'<>]+/g, `$1${REDACTED}`],
  [/([?&;\s]|^)((?:access_)?token|signedAttempt|password)=[^&\s#"']+/gi, `$1$2=${REDACTED}`],
  [/(authorization["']?\s*[:=]\s*["']?)[^"'\r\n,}]+/gi, `$1${REDACTED}`],
  [/\b(bearer)(\s+)[A-Za-z0-9._~+/-]+=*/gi, `$1$2${REDACTED}`],
  [/[A-Za-z0-9_-]{96,}={0,2}/g, REDACTED],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}
