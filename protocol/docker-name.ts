/**
 * The flist name the original hub gives a docker conversion (docs/compatibility.md §2, `docker.py:83-84,167`), from the text as
 * typed: `:latest` added when there is no `:` at all, then every `:` and `/` becomes `-`, then `.flist`.
 * `localhost:5000/app` already has a `:` so it becomes `localhost-5000-app.flist`; `app@sha256:ab…` →
 * `app@sha256-ab….flist`. One derivation for the Worker (which answers with this name and checks it against the name
 * rule, protocol/name-rule.ts) and the converter (which reports it).
 */
export function dockerFlistName(input: string): string {
  let name = input.trim();
  if (!name.includes(":")) name += ":latest";
  return `${name.replaceAll(":", "-").replaceAll("/", "-")}.flist`;
}
