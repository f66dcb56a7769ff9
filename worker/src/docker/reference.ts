/**
 * Image references on the Worker's side: just enough to refuse a malformed one with a clear 400 before a job is
 * created, and to know the flist name the job publishes (the Worker answers with it and the publish is checked
 * against it). The converter parses the reference fully (converter/src/oci/reference.ts, the same grammar as
 * distribution/reference) and stays the authority on what the registry is asked for.
 */
import { dockerFlistName as flistNameOf } from "../../../protocol/docker-name";
import { flistName as catalogFlistName } from "../catalog/names";
import { HubError } from "../http/errors";

// distribution/reference grammar (reference/regexp.go), per part, as in converter/src/oci/reference.ts.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

function invalid(input: string, why: string): never {
  const shown = input.replace(/[^\x20-\x7e]/g, "?").slice(0, 300);
  throw new HubError(400, `invalid image reference '${shown}': ${why}`);
}

/**
 * An `@` not followed by a digest: `user:password@registry/app` (credentials typed into the reference) or a
 * misplaced `@`. The message never quotes the input, which may hold a password. Same rule as the converter's.
 */
function checkAt(text: string): void {
  const at = text.indexOf("@");
  if (at < 0) return;
  const suffix = text.slice(at + 1);
  if (DIGEST.test(suffix)) return;
  // After the '@' of user:password@: a host (a dot), a path, or the rest of a password holding '@'.
  const why = /[@/.]/.test(suffix)
    ? "credentials cannot be part of the image reference (user:password@registry/…); send them as the username and password (or token) fields"
    : "'@' must be followed by a digest (sha256:<64 hex> or sha512:<128 hex>)";
  throw new HubError(400, `invalid image reference: ${why}`);
}

/** Throws a 400 unless `input` is an image reference the converter can parse (`ubuntu`, `ghcr.io/o/a:v1`, `a@sha256:…`). */
export function checkReference(input: string): void {
  let rest = input.trim();
  if (rest === "") invalid(input, "empty");
  checkAt(rest);
  const at = rest.indexOf("@");
  if (at >= 0) {
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    if (!TAG.test(rest.slice(colon + 1))) {
      invalid(input, "a tag is 1 to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'");
    }
    rest = rest.slice(0, colon);
  }
  const parts = rest.split("/");
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!DOMAIN.test(first)) invalid(input, `'${first}' is not a registry host[:port]`);
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => p === "")) invalid(input, "empty repository path component");
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      invalid(input, /[A-Z]/.test(part) ? "repository names must be lowercase" : `'${part}' is not a valid repository path component`);
    }
  }
}

/**
 * The original hub's docker flist name (protocol/docker-name.ts, the converter's too), which must also pass the name
 * rule (a clear 400 otherwise, e.g. over 255 bytes).
 */
export function dockerFlistName(input: string): string {
  return catalogFlistName(flistNameOf(input), "image name");
}
