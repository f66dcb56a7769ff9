/**
 * The one error type of image conversion. `code` is stable so the route can choose the HTTP status
 * (400 for bad input, 401/403 for credentials, 404 for unknown images, 502 for registry trouble).
 *
 * Messages name the image, registry and digest involved, never credentials: neither the username,
 * the password/token nor an Authorization header value is ever put into a message or a `cause`.
 */
export type RegistryErrorCode =
  /** The reference text does not parse. */
  | "invalid-reference"
  /** The registry is denied by the hub's allow/deny configuration, or its address is not public (outbound.ts). */
  | "registry-not-allowed"
  /** The repository does not exist (or is private and no/insufficient credentials were given). */
  | "unknown-image"
  /** The repository exists but not this tag or digest. */
  | "unknown-tag"
  /** The registry refused the credentials given. */
  | "unauthorized"
  /** The registry needs credentials and none were given. */
  | "authentication-required"
  /** The registry accepted the credentials but they do not allow pulling this repository. */
  | "denied"
  | "rate-limited"
  /** Connection refused, DNS failure, TLS failure, timeout: one message for all (outbound.ts). */
  | "unreachable"
  /** The registry answered with a 5xx or something that is not the distribution API. */
  | "registry-error"
  /** Schema 1 manifests, artifacts that are not container images, unknown layer formats. */
  | "unsupported"
  /** A multi-platform image without the requested platform. */
  | "no-matching-platform"
  /** Content whose digest or size differs from what its descriptor promised. */
  | "digest-mismatch"
  /** A manifest or config larger than we accept, or JSON that is not what the spec says. */
  | "bad-manifest"
  /** A layer blob that does not decompress (corrupt zstd, zstd data labelled otherwise). */
  | "bad-layer";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** What the operator's log may add (the network error behind "could not reach"); never shown to the user. */
    readonly detail?: string,
  ) {
    super(message);
  }
}
