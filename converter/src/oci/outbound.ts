/**
 * How the registry client reaches the network: every request (registry, token realm, redirect hops, the Docker
 * Hub mirror) goes through the outbound guard (converter/src/net, docs/outbound.md) with the registry policy's
 * exceptions, and a failed connection becomes one of two user-facing errors:
 *
 * - `registry-not-allowed` (403) when the host is or resolves to an address the hub does not connect to;
 * - `unreachable` (502) with one message, "could not reach …", for every other failure (refused, reset, timed out,
 *   TLS, DNS), so the answer does not tell an open port from a closed one. The precise reason goes to `detail`,
 *   which only the converter's log shows.
 */
import { type Fetch, OutboundGuard, guardedFetch, outboundRefusal } from "../net/index.ts";
import { RegistryError } from "./errors.ts";
import type { RegistryPolicy } from "./policy.ts";

/** One guarded fetch (one connection pool) per policy object: the service's policy lives as long as the process. */
const fetches = new WeakMap<RegistryPolicy, Fetch>();

/** Endpoints the operator named (plain-HTTP registries, the mirror) are trusted wherever they resolve. */
export function registryGuard(policy: RegistryPolicy): OutboundGuard {
  const endpoints = [...(policy.insecure ?? [])];
  if (policy.dockerHubMirror !== undefined) endpoints.push(new URL(policy.dockerHubMirror).host);
  return new OutboundGuard({ allow: policy.outboundAllow ?? [], endpoints });
}

export function registryFetch(policy: RegistryPolicy): Fetch {
  let f = fetches.get(policy);
  if (f === undefined) {
    f = guardedFetch(registryGuard(policy));
    fetches.set(policy, f);
  }
  return f;
}

/**
 * The RegistryError for a request to `what` (`registry ghcr.io`, `the token service of ghcr.io (auth.example)`)
 * that failed before an answer.
 */
export function connectionError(err: unknown, what: string): RegistryError {
  const refused = outboundRefusal(err);
  if (refused !== undefined) {
    const detail = refused.literal ? undefined : `${refused.host} resolved to ${refused.address} (${refused.addressClass})`;
    return new RegistryError("registry-not-allowed", `${what} is not allowed: ${refused.message}`, detail);
  }
  return new RegistryError("unreachable", `could not reach ${what}`, networkReason(err));
}

/** A short, credential-free reason for a failed fetch (undici puts the system error in `cause`), for logs. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if ((err as Error | null)?.name === "TimeoutError" || (cause as Error | undefined)?.name === "TimeoutError") return "timed out";
  const code = cause?.code;
  if (code !== undefined) {
    if (code === "ECONNREFUSED") return "connection refused (ECONNREFUSED)";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `host not found (${code})`;
    if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return `connection reset (${code})`;
    if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return `timed out (${code})`;
    if (/^(ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code)) {
      return `TLS failed (${code}); a plain-HTTP registry must be listed in HUB_INSECURE_REGISTRIES`;
    }
    return code;
  }
  if (cause?.message) return cause.message.split("\n")[0] as string;
  return (err as Error | null)?.message?.split("\n")[0] ?? String(err);
}
