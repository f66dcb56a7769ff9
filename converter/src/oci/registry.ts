/**
 * A pull-only client of the OCI distribution API (`GET /v2/<name>/manifests/<ref>`, `GET /v2/<name>/blobs/<digest>`)
 * over `fetch`, for one repository:
 *
 * - `resolve(platform)`: the image manifest for a tag or digest, through a manifest list / OCI index when there is
 *   one (platform selection in platform.ts), and its config blob; Docker schema 2 and OCI, schema 1 refused clearly;
 * - `blob(descriptor)`: the blob's bytes as a stream, hashed while streaming: a digest or size that differs
 *   from the descriptor fails the stream at its end (or as soon as it is too long), so nothing built from a
 *   tampered blob is ever published.
 *
 * Every document fetched by digest is checked against that digest; a manifest fetched by tag is identified by the
 * digest of its bytes. Errors are `RegistryError`s with a code and a message naming the image, never credentials.
 */
import { createHash } from "node:crypto";
import type { Fetch } from "../net/index.ts";
import { type Credentials, RegistryAuth, parseChallenges, readLimited } from "./auth.ts";
import { RegistryError } from "./errors.ts";
import {
  type Descriptor,
  type ImageConfig,
  ImageConfigSchema,
  type ImageManifest,
  IndexSchema,
  MANIFEST_ACCEPT,
  ManifestSchema,
  MediaType,
  manifestKind,
  parseDocument,
} from "./manifest.ts";
import { connectionError, networkReason, registryFetch } from "./outbound.ts";
import { type PlatformSpec, formatPlatform, platformMatches, selectManifest } from "./platform.ts";
import { type RegistryPolicy, checkRegistryAllowed, checkUrlScheme, registryBaseUrl } from "./policy.ts";
import { type ImageReference, formatReference, manifestReference } from "./reference.ts";

/** Manifests and configs are small JSON documents; anything bigger is refused rather than buffered. */
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const CONFIG_MAX_BYTES = 8 * 1024 * 1024;
/** Until the response headers arrive. Bodies are streamed without a deadline (a large layer takes its time). */
const DEFAULT_TIMEOUT_MS = 30_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** An index may point at another index; deeper nesting is not something real images do. */
const MAX_INDEX_DEPTH = 2;

export interface RegistryClientOptions {
  policy?: RegistryPolicy;
  credentials?: Credentials;
  timeoutMs?: number;
  /** Aborts every request and blob stream of this client (the job was cancelled). */
  signal?: AbortSignal;
}

export interface ResolvedImage {
  /** Digest of the image manifest actually converted (the platform's, when the reference named an index). */
  manifestDigest: string;
  /** Digest of the index the platform was chosen from, when there was one. */
  indexDigest?: string;
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: string;
}

export class RegistryClient {
  readonly image: string;
  private readonly base: string;
  private readonly auth: RegistryAuth;
  private readonly fetchFn: Fetch;
  private readonly timeoutMs: number;
  private readonly policy: RegistryPolicy;
  private readonly signal: AbortSignal | undefined;

  constructor(readonly ref: ImageReference, options: RegistryClientOptions = {}) {
    this.signal = options.signal;
    this.policy = options.policy ?? {};
    checkRegistryAllowed(this.policy, ref.registry);
    this.image = formatReference(ref);
    this.base = registryBaseUrl(this.policy, ref.registry);
    // Guarded, not replaceable: every connection to a user-named host is checked (outbound.ts).
    this.fetchFn = registryFetch(this.policy);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.auth = new RegistryAuth(ref.registry, ref.repository, options.credentials, this.policy, this.fetchFn, this.timeoutMs, this.signal);
  }

  async resolve(platform: PlatformSpec, explicitPlatform = false): Promise<ResolvedImage> {
    let reference = manifestReference(this.ref);
    let expected = this.ref.digest;
    let indexDigest: string | undefined;
    for (let depth = 0; ; depth++) {
      const doc = await this.fetchManifest(reference, expected);
      const kind = manifestKind(doc.contentType, doc.body);
      if (kind === "schema1") {
        throw new RegistryError("unsupported", `${this.image} uses a Docker schema 1 manifest, which is unsupported (push it again with a current Docker or skopeo)`);
      }
      if (kind === "index") {
        if (depth >= MAX_INDEX_DEPTH) throw new RegistryError("bad-manifest", `${this.image}: image indexes nested too deeply`);
        const index = parseDocument(IndexSchema, doc.body, `the image index of ${this.image}`);
        const entry = selectManifest(index, platform, this.image);
        indexDigest ??= doc.digest;
        reference = entry.digest;
        expected = entry.digest;
        continue;
      }
      if (kind !== "manifest") {
        throw new RegistryError("unsupported", `${this.image} is not a container image (manifest type '${doc.contentType ?? "none"}')`);
      }
      const manifest = parseDocument(ManifestSchema, doc.body, `the manifest of ${this.image}`);
      const configType = manifest.config.mediaType;
      if (configType !== MediaType.dockerConfig && configType !== MediaType.ociConfig) {
        throw new RegistryError("unsupported", `${this.image} is not a container image (config type '${configType}')`);
      }
      const configText = await this.fetchSmallBlob(manifest.config, CONFIG_MAX_BYTES, "image config");
      const config = parseDocument(ImageConfigSchema, parseJson(configText, `the image config of ${this.image}`), `the image config of ${this.image}`);
      // A single-platform image is taken as it is unless the caller asked for a platform it is not.
      if (explicitPlatform && indexDigest === undefined && config.os !== undefined && config.architecture !== undefined) {
        const have = { os: config.os, architecture: config.architecture, variant: config.variant };
        if (!platformMatches(platform, have)) {
          throw new RegistryError("no-matching-platform", `${this.image} is a ${formatPlatform(have)} image, not ${formatPlatform(platform)}`);
        }
      }
      const resolved: ResolvedImage = { manifestDigest: doc.digest, manifest, config, configDigest: manifest.config.digest };
      if (indexDigest !== undefined) resolved.indexDigest = indexDigest;
      return resolved;
    }
  }

  /** The blob's bytes, streamed; throws `digest-mismatch` when its size or digest differs from the descriptor. */
  async *blob(descriptor: Descriptor): AsyncGenerator<Uint8Array> {
    const { res, abort } = await this.get(`blobs/${descriptor.digest}`, "*/*", "blob");
    if (res.body === null) throw new RegistryError("registry-error", `${this.image}: blob ${descriptor.digest} has no body`);
    const body = stallGuard(res.body as unknown as AsyncIterable<Uint8Array>, abort, this.timeoutMs, (stalled, err) => {
      this.signal?.throwIfAborted(); // cancelled by the caller: its reason, not a registry failure
      const what = `blob ${descriptor.digest} of ${this.image}`;
      return stalled
        ? new RegistryError("unreachable", `registry ${this.ref.registry} stopped sending ${what}`)
        : new RegistryError("unreachable", `registry ${this.ref.registry} broke off ${what}: ${networkReason(err)}`);
    });
    yield* verified(body, descriptor, this.image);
  }

  private async fetchSmallBlob(descriptor: Descriptor, limit: number, what: string): Promise<string> {
    if (descriptor.size > limit) throw new RegistryError("bad-manifest", `${this.image}: ${what} is larger than ${limit} bytes`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.blob(descriptor)) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  }

  private async fetchManifest(reference: string, expectedDigest: string | undefined): Promise<{ body: unknown; digest: string; contentType: string | null }> {
    const { res } = await this.get(`manifests/${reference}`, MANIFEST_ACCEPT, "manifest");
    const lengthHeader = Number(res.headers.get("content-length") ?? "0");
    if (lengthHeader > MANIFEST_MAX_BYTES) {
      await res.body?.cancel();
      throw new RegistryError("bad-manifest", `${this.image}: manifest larger than ${MANIFEST_MAX_BYTES} bytes`);
    }
    const bytes = Buffer.from(await readLimited(res, MANIFEST_MAX_BYTES), "utf8");
    const algorithm = expectedDigest?.startsWith("sha512:") ? "sha512" : "sha256";
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
    if (expectedDigest !== undefined && digest !== expectedDigest) {
      throw new RegistryError("digest-mismatch", `${this.image}: the manifest served for ${expectedDigest} has digest ${digest}`);
    }
    return { body: parseJson(bytes.toString("utf8"), `the manifest of ${this.image}`), digest, contentType: res.headers.get("content-type") };
  }

  /** One authenticated GET under `/v2/<repository>/`, following a 401 challenge once; non-2xx become RegistryErrors. */
  private async get(path: string, accept: string, what: "manifest" | "blob"): Promise<{ res: Response; abort: AbortController }> {
    const url = new URL(`${this.base}/v2/${this.ref.repository}/${path}`);
    checkUrlScheme(this.policy, url, `registry ${this.ref.registry}`);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new DOMException("timed out", "TimeoutError")), this.timeoutMs);
      const signal = this.signal ? AbortSignal.any([abort.signal, this.signal]) : abort.signal;
      try {
        res = await this.send(url, accept, signal);
      } finally {
        clearTimeout(timer);
      }
      if (res.ok) return { res, abort };
      if (res.status === 401) {
        await res.body?.cancel();
        if (attempt === 0 && (await this.auth.challenge(res))) continue;
        if (!this.auth.hasCredentials) {
          throw new RegistryError("unknown-image", `${this.image} does not exist or is private (no credentials were given)`);
        }
        // A token was issued for these credentials but without pull access (Docker Hub answers so for missing
        // repositories too): the credentials are fine, the access is not.
        const insufficient = parseChallenges(res.headers.get("www-authenticate") ?? "").some((c) => c.params.error === "insufficient_scope");
        throw insufficient
          ? new RegistryError("denied", `${this.image} does not exist or the credentials given do not allow pulling it`)
          : new RegistryError("unauthorized", `registry ${this.ref.registry} refused the credentials given for ${this.image}`);
      }
      throw await this.failure(res, what);
    }
  }

  /**
   * fetch with redirects followed by hand (blob storage and CDNs answer 307 to a signed URL): every hop must be
   * HTTPS (or an insecure-listed host), every hop's connection is checked by the outbound guard, and the
   * Authorization header stays with the registry's own origin.
   */
  private async send(url: URL, accept: string, signal: AbortSignal): Promise<Response> {
    let current = url;
    let headers: Record<string, string> = { accept, ...this.auth.header() };
    for (let hop = 0; ; hop++) {
      let res: Response;
      try {
        res = await this.fetchFn(current, { headers, redirect: "manual", signal });
      } catch (err) {
        this.signal?.throwIfAborted();
        const registry = `registry ${this.ref.registry}`;
        throw connectionError(err, current.host === url.host ? registry : `${current.host} (a redirect of ${registry})`);
      }
      if (!REDIRECTS.has(res.status)) return res;
      await res.body?.cancel();
      const location = res.headers.get("location");
      if (location === null || hop >= MAX_REDIRECTS) {
        throw new RegistryError("registry-error", `registry ${this.ref.registry} sent ${location === null ? "a redirect without a location" : "too many redirects"}`);
      }
      const next = new URL(location, current);
      checkUrlScheme(this.policy, next, `a redirect of registry ${this.ref.registry} to`);
      if (next.origin !== url.origin) headers = { accept };
      current = next;
    }
  }

  private async failure(res: Response, what: "manifest" | "blob"): Promise<RegistryError> {
    let codes: string[] = [];
    try {
      const body = JSON.parse(await readLimited(res, 64 * 1024)) as { errors?: Array<{ code?: unknown }> };
      codes = (body.errors ?? []).map((e) => String(e.code ?? ""));
    } catch {
      // not the distribution error format: the status decides
    }
    const image = this.image;
    if (res.status === 404 || codes.includes("NAME_UNKNOWN") || codes.includes("MANIFEST_UNKNOWN") || codes.includes("BLOB_UNKNOWN")) {
      if (codes.includes("NAME_UNKNOWN")) return new RegistryError("unknown-image", `${image}: no such image on ${this.ref.registry}`);
      if (what === "blob") return new RegistryError("registry-error", `${image}: the registry does not have a blob the manifest lists`);
      // Registries do not all say NAME_UNKNOWN: ask the tag list whether the repository exists at all.
      return (await this.repositoryExists())
        ? new RegistryError("unknown-tag", `${image}: no such tag or digest (the repository exists)`)
        : new RegistryError("unknown-image", `${image}: no such image on ${this.ref.registry}`);
    }
    if (res.status === 401) return new RegistryError("unauthorized", `registry ${this.ref.registry} refused the credentials given for ${image}`);
    if (res.status === 403 || codes.includes("DENIED")) {
      return new RegistryError("denied", `registry ${this.ref.registry} does not allow pulling ${image} with the credentials given`);
    }
    if (res.status === 429 || codes.includes("TOOMANYREQUESTS")) {
      return new RegistryError("rate-limited", `registry ${this.ref.registry} is rate-limiting pulls; try again later or give credentials`);
    }
    return new RegistryError("registry-error", `registry ${this.ref.registry} answered HTTP ${res.status} for the ${what} of ${image}`);
  }

  private async repositoryExists(): Promise<boolean> {
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const res = await this.fetchFn(new URL(`${this.base}/v2/${this.ref.repository}/tags/list?n=1`), {
        headers: { accept: "application/json", ...this.auth.header() },
        redirect: "manual",
        signal: this.signal ? AbortSignal.any([timeout, this.signal]) : timeout,
      });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}

/**
 * A body with no fixed deadline (a large layer takes its time) but an idle one: when no bytes arrive for `idleMs`,
 * the request is aborted and the stream fails with `error(true)` instead of hanging the conversion; any other
 * failure of the body becomes `error(false, cause)`.
 */
async function* stallGuard(
  source: AsyncIterable<Uint8Array>,
  abort: AbortController,
  idleMs: number,
  error: (stalled: boolean, cause: unknown) => Error,
): AsyncGenerator<Uint8Array> {
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, idleMs);
  };
  try {
    arm();
    for await (const chunk of source) {
      clearTimeout(timer);
      yield chunk;
      arm();
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw error(stalled, err);
  } finally {
    clearTimeout(timer);
    // Stopped early (a failure downstream): release the connection.
    abort.abort();
  }
}

/** Passes `source` through, checking its size and digest against `descriptor`. */
export async function* verified(source: AsyncIterable<Uint8Array>, descriptor: Descriptor, image: string): AsyncGenerator<Uint8Array> {
  const [algorithm, expectedHex] = descriptor.digest.split(":") as [string, string];
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > descriptor.size) {
      throw new RegistryError("digest-mismatch", `${image}: blob ${descriptor.digest} is longer than the ${descriptor.size} bytes its manifest says`);
    }
    hash.update(chunk);
    yield chunk;
  }
  if (size !== descriptor.size) {
    throw new RegistryError("digest-mismatch", `${image}: blob ${descriptor.digest} has ${size} bytes, its manifest says ${descriptor.size}`);
  }
  const actual = hash.digest("hex");
  if (actual !== expectedHex) {
    throw new RegistryError("digest-mismatch", `${image}: blob ${descriptor.digest} does not match its digest (got ${algorithm}:${actual})`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RegistryError("bad-manifest", `${what} is not JSON`);
  }
}
