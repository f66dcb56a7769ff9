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
 * The flist name follows the original hub (docs/compatibility.md §2), computed from the text as typed, not the normalised
 * form: `threefolddev/ubuntu:22.04` → `threefolddev-ubuntu-22.04.flist`.
 */
import { dockerFlistName } from "../../../protocol/docker-name.ts";
import { splitReference } from "../../../protocol/image-reference.ts";
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

const NAME_MAX = 255;

function invalid(input: string, why: string): never {
  throw new RegistryError("invalid-reference", `invalid image reference '${printable(input)}': ${why}`);
}

/** References appear in messages; keep them one short printable line. */
function printable(input: string): string {
  const clean = input.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

/** The grammar is the Worker's too (protocol/image-reference.ts); normalised here as the Docker CLI does. */
export function parseReference(input: string): ImageReference {
  const split = splitReference(input);
  if ("problem" in split) {
    // The message never quotes an input that may hold a password.
    if (!split.quoteInput) throw new RegistryError("invalid-reference", `invalid image reference: ${split.problem}`);
    invalid(input, split.problem);
  }
  const { tag, digest } = split;
  const parts = [...split.path];
  let registry = DOCKER_HUB;
  if (split.registry !== undefined) {
    registry = split.registry.toLowerCase();
    if (registry === "index.docker.io" || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB;
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
