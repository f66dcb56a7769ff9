/**
 * Image references as users type them (`ubuntu`, `ubuntu:22.04`, `library/ubuntu`, `docker.io/…`,
 * `ghcr.io/org/app:v1`, `localhost:5000/app`, `app@sha256:…`), normalised the way the Docker CLI does
 * (distribution/reference `ParseNormalizedNamed`):
 *
 * - the first path component is a registry when it contains `.` or `:`, or is `localhost`; otherwise the
 *   registry is Docker Hub (`docker.io`, served at `registry-1.docker.io`) and a single-component name gets the
 *   `library/` prefix;
 * - `index.docker.io` and `registry-1.docker.io` are Docker Hub too;
 * - no tag and no digest means `:latest`; a digest wins over a tag (`app:v1@sha256:…` pulls by digest).
 *
 * The flist name follows the original hub (hub-api.md §3), computed from the text as typed, not the normalised
 * form: `threefolddev/ubuntu:22.04` → `threefolddev-ubuntu-22.04.flist`.
 */
import { dockerFlistName } from "../../../protocol/docker-name.ts";
import { RegistryError } from "./errors.ts";

export const DOCKER_HUB = "docker.io";
/** Where Docker Hub's registry API is served (docker.io itself only redirects to the website). */
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";

export interface ImageReference {
  /** Canonical registry name: `docker.io` for Docker Hub, else `host[:port]` as typed (lower-cased host). */
  registry: string;
  /** Repository path inside the registry (`library/ubuntu`, `org/app`). */
  repository: string;
  /** The tag, when given or implied (`latest`); absent when pulling by digest only. */
  tag?: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>`, when given. */
  digest?: string;
}

// Grammar of distribution/reference (reference/regexp.go), anchored per part.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const NAME_MAX = 255;

function invalid(input: string, why: string): never {
  throw new RegistryError("invalid-reference", `invalid image reference '${printable(input)}': ${why}`);
}

/** References appear in messages; keep them one short printable line. */
function printable(input: string): string {
  const clean = input.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

/**
 * An `@` not followed by a digest: `user:password@registry/app` (credentials typed into the reference) or a
 * misplaced `@`. The message never quotes the input, which may hold a password.
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
  throw new RegistryError("invalid-reference", `invalid image reference: ${why}`);
}

export function parseReference(input: string): ImageReference {
  const text = input.trim();
  if (text === "") invalid(input, "empty");
  checkAt(text);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) invalid(input, "a tag is 1 to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'");
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] as string;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!DOMAIN.test(first)) invalid(input, `'${first}' is not a registry host[:port]`);
    registry = first.toLowerCase();
    parts.shift();
    if (registry === "index.docker.io" || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB;
  }
  if (parts.length === 0 || parts.some((p) => p === "")) invalid(input, "empty repository path component");
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      invalid(input, /[A-Z]/.test(part) ? "repository names must be lowercase" : `'${part}' is not a valid repository path component`);
    }
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (`${registry}/${repository}`.length > NAME_MAX) invalid(input, `name longer than ${NAME_MAX} characters`);
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined || digest === undefined) ref.tag = tag ?? "latest";
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** What to ask the registry for: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** `docker.io/library/ubuntu:22.04`, `ghcr.io/org/app@sha256:…`: the fully qualified form, for messages and metadata. */
export function formatReference(ref: ImageReference): string {
  const name = `${ref.registry}/${ref.repository}`;
  if (ref.digest !== undefined) return `${name}@${ref.digest}`;
  return `${name}:${ref.tag ?? "latest"}`;
}

/** The flist name the original hub gives a docker conversion (protocol/docker-name.ts, shared with the Worker). */
export const flistName = dockerFlistName;
