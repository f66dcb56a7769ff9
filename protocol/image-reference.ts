/**
 * The grammar of an image reference as users type it (distribution/reference, reference/regexp.go, anchored per
 * part): `ubuntu`, `ghcr.io/org/app:v1`, `localhost:5000/app`, `app@sha256:…`. The Worker refuses a malformed one
 * with a 400 before a job is created (worker/src/docker/reference.ts); the converter parses and normalises it
 * (converter/src/oci/reference.ts). One grammar, so what the Worker accepts the converter can parse.
 */

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** A reference cut into its parts, as typed (the registry not yet normalised). */
export interface ReferenceParts {
  /** `host[:port]` when the first path component names a registry (it holds `.` or `:`, or is `localhost`). */
  registry?: string;
  /** The repository path components. */
  path: string[];
  tag?: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>`. */
  digest?: string;
}

/**
 * Why a reference is refused. `quoteInput` false: the message must not quote the input, which may hold a
 * password (`user:password@registry/app`).
 */
export interface ReferenceProblem {
  problem: string;
  quoteInput: boolean;
}

/** `input` (trimmed) cut into its parts, or why it is not a reference. */
export function splitReference(input: string): ReferenceParts | ReferenceProblem {
  const text = input.trim();
  if (text === "") return { problem: "empty", quoteInput: true };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const suffix = rest.slice(at + 1);
    if (!DIGEST.test(suffix)) {
      // After the '@' of user:password@: a host (a dot), a path, or the rest of a password holding '@'.
      const problem = /[@/.]/.test(suffix)
        ? "credentials cannot be part of the image reference (user:password@registry/…); send them as the username and password (or token) fields"
        : "'@' must be followed by a digest (sha256:<64 hex> or sha512:<128 hex>)";
      return { problem, quoteInput: false };
    }
    digest = suffix;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { problem: "a tag is 1 to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'", quoteInput: true };
  }
  const path = rest.split("/");
  let registry: string | undefined;
  const first = path[0] as string;
  if (path.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!DOMAIN.test(first)) return { problem: `'${first}' is not a registry host[:port]`, quoteInput: true };
    registry = first;
    path.shift();
  }
  if (path.length === 0 || path.some((p) => p === "")) return { problem: "empty repository path component", quoteInput: true };
  for (const part of path) {
    if (!PATH_COMPONENT.test(part)) {
      const problem = /[A-Z]/.test(part) ? "repository names must be lowercase" : `'${part}' is not a valid repository path component`;
      return { problem, quoteInput: true };
    }
  }
  return { path, ...(registry !== undefined ? { registry } : {}), ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
