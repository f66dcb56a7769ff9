/**
 * Registry authentication (distribution `docs/spec/auth/token.md`): a request goes out anonymously (or with
 * the token already obtained); a `401` carries `WWW-Authenticate` challenges:
 *
 * - `Bearer realm="…",service="…",scope="…"`: GET the realm with `service` and `scope`
 *   (`repository:<name>:pull`), with HTTP Basic credentials when the caller gave a username/password, and
 *   retry with `Authorization: Bearer <token>` (Docker Hub, GHCR, Harbor, distribution's token auth);
 * - `Basic realm="…"`: retry with the username/password (distribution's htpasswd auth).
 *
 * Credentials (`{username, password}` or `{token}`) live only in this object for one conversion: never logged,
 * never in an error message, never sent anywhere but the registry's own host or its token realm, and the
 * realm must be HTTPS (or an HUB_INSECURE_REGISTRIES host), so a password never crosses the network in clear.
 * A `token` alone is sent as `Authorization: Bearer <token>` (a registry/identity token the caller already has).
 */
import { z } from "zod";
import type { Credentials } from "../../../protocol/job-spec.ts";
import type { Fetch } from "../net/index.ts";
import { RegistryError } from "./errors.ts";
import { connectionError } from "./outbound.ts";
import { type RegistryPolicy, checkUrlScheme } from "./policy.ts";

/** Basic credentials or a bearer token: the docker job spec's `credentials` (protocol/job-spec.ts). */
export { credentialsSchema as CredentialsSchema, type Credentials } from "../../../protocol/job-spec.ts";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 7235): one or more challenges, each `scheme` followed by
 * comma-separated `key=value` or `key="quoted \"value\""` parameters. Unknown syntax ends the parse
 * (whatever was understood is returned): a hostile header cannot make it throw or loop.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const word = token();
    if (word === "") break;
    skipSpace();
    if (header[i] === "=" && current !== undefined) {
      i++;
      skipSpace();
      let value: string;
      if (header[i] === '"') {
        i++;
        value = "";
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[word.toLowerCase()] = value;
    } else if (i > start) {
      // A token not followed by '=' starts a new challenge (the token68 form is not used by registries).
      current = { scheme: word.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

const TokenResponse = z
  .object({ token: z.string().optional(), access_token: z.string().optional() })
  .refine((v) => (v.token ?? v.access_token) !== undefined, "no token in the answer");

/**
 * Holds the credentials and the current Authorization value for one repository on one registry. `header()`
 * gives what to send now; `challenge(res)` reacts to a 401 and tells whether a retry makes sense.
 */
export class RegistryAuth {
  private authorization: string | undefined;

  constructor(
    private readonly registry: string,
    private readonly repository: string,
    private readonly credentials: Credentials | undefined,
    private readonly policy: RegistryPolicy,
    private readonly fetchFn: Fetch,
    private readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    if (credentials && "token" in credentials) this.authorization = `Bearer ${credentials.token}`;
  }

  header(): Record<string, string> {
    return this.authorization === undefined ? {} : { authorization: this.authorization };
  }

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /**
   * Handles a 401 (the caller retries each request at most once, so a second 401 means the credentials are not
   * enough); true when the request should be retried with the new `header()`. A Bearer challenge always fetches a
   * fresh token: one obtained earlier in a long pull may simply have expired (Docker Hub's last 5 minutes).
   */
  async challenge(res: Response): Promise<boolean> {
    const challenges = parseChallenges(res.headers.get("www-authenticate") ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    if (bearer !== undefined && bearer.params.realm !== undefined) {
      // A caller-supplied bearer token is either accepted by the registry or wrong: do not trade it away.
      if (this.credentials && "token" in this.credentials) return false;
      this.authorization = `Bearer ${await this.fetchToken(bearer.params)}`;
      return true;
    }
    if (basic !== undefined) {
      if (this.credentials === undefined || !("username" in this.credentials)) return false;
      const raw = `${this.credentials.username}:${this.credentials.password}`;
      this.authorization = `Basic ${Buffer.from(raw, "utf8").toString("base64")}`;
      return true;
    }
    return false;
  }

  private async fetchToken(params: Record<string, string>): Promise<string> {
    let url: URL;
    try {
      url = new URL(params.realm as string);
    } catch {
      throw new RegistryError("registry-error", `registry ${this.registry} sent an invalid token realm`);
    }
    checkUrlScheme(this.policy, url, `the token service of ${this.registry}`);
    if (params.service !== undefined) url.searchParams.set("service", params.service);
    // Always ask for pull on our repository; the registry's own scope hint may name another action set.
    url.searchParams.set("scope", `repository:${this.repository}:pull`);
    const headers: Record<string, string> = {};
    if (this.credentials && "username" in this.credentials) {
      const raw = `${this.credentials.username}:${this.credentials.password}`;
      headers.authorization = `Basic ${Buffer.from(raw, "utf8").toString("base64")}`;
    }
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      // No redirects: the credentials were meant for this realm only.
      res = await this.fetchFn(url, { headers, signal: this.signal ? AbortSignal.any([timeout, this.signal]) : timeout, redirect: "error" });
    } catch (err) {
      this.signal?.throwIfAborted();
      throw connectionError(err, `the token service of ${this.registry} (${url.host})`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.hasCredentials
        ? new RegistryError("unauthorized", `registry ${this.registry} refused the credentials given`)
        : new RegistryError("authentication-required", `registry ${this.registry} requires credentials`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryError("registry-error", `the token service of ${this.registry} answered HTTP ${res.status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(await readLimited(res, 1024 * 1024));
    } catch {
      throw new RegistryError("registry-error", `the token service of ${this.registry} did not answer JSON`);
    }
    const parsed = TokenResponse.safeParse(body);
    if (!parsed.success) throw new RegistryError("registry-error", `the token service of ${this.registry} answered without a token`);
    return (parsed.data.token ?? parsed.data.access_token) as string;
  }
}

/** Reads a small response body as text, refusing more than `limit` bytes. */
export async function readLimited(res: Response, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > limit) {
        await res.body.cancel().catch(() => {});
        throw new RegistryError("bad-manifest", `answer larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}
