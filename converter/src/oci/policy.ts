/**
 * Which registries the hub talks to, and how: allow/deny lists, a Docker Hub mirror, and the registries reached
 * over plain HTTP. HTTPS is used everywhere else; there is no "try HTTP if HTTPS fails" fallback, so a network
 * attacker cannot downgrade a pull.
 *
 * Environment (all optional, comma-separated lists, read by `registryPolicyFromEnv`):
 * - `HUB_INSECURE_REGISTRIES`: `host:port` entries reached over plain HTTP (e.g. a registry on loopback);
 * - `HUB_REGISTRY_ALLOW`: only these registries (`docker.io`, `ghcr.io`, `*.example.com`); empty = any;
 * - `HUB_REGISTRY_DENY`: never these (checked first);
 * - `HUB_DOCKERHUB_MIRROR`: base URL used instead of `https://registry-1.docker.io` for Docker Hub images
 *   (a pull-through cache such as `https://mirror.gcr.io`); an `http://` mirror must be listed as insecure;
 * - `HUB_OUTBOUND_ALLOW`: address ranges the hub may reach although they are not public (net/policy.ts).
 *
 * Every registry connection goes through the outbound guard (outbound.ts): non-public addresses are refused unless
 * the endpoint is an insecure registry or the mirror, or the address is in `HUB_OUTBOUND_ALLOW`.
 */
import { z } from "zod";
import { outboundAllowFromEnv, parseEndpoint } from "../net/index.ts";
import { RegistryError } from "./errors.ts";
import { DOCKER_HUB, DOCKER_HUB_ENDPOINT } from "./reference.ts";

export interface RegistryPolicy {
  /** Registry names (`docker.io`, `host[:port]`, `*.suffix`); undefined or empty = every registry. */
  allow?: readonly string[];
  deny?: readonly string[];
  /** Base URL for Docker Hub images instead of Docker Hub itself. */
  dockerHubMirror?: string;
  /** `host:port` registries reached over plain HTTP (trusted wherever they resolve, loopback included). */
  insecure?: readonly string[];
  /** Address ranges (`10.0.0.0/8`) the hub may connect to although they are not public. */
  outboundAllow?: readonly string[];
}

const list = z
  .string()
  .optional()
  .transform((v) => (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== ""));

const EnvSchema = z.object({
  HUB_INSECURE_REGISTRIES: list.superRefine((entries, ctx) => {
    for (const entry of entries) {
      try {
        parseEndpoint(entry);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `HUB_INSECURE_REGISTRIES: ${(err as Error).message}` });
      }
    }
  }),
  HUB_REGISTRY_ALLOW: list,
  HUB_REGISTRY_DENY: list,
  HUB_DOCKERHUB_MIRROR: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim().replace(/\/+$/, "") : undefined))
    .refine((v) => v === undefined || /^https?:\/\/[^/]+$/.test(v), "HUB_DOCKERHUB_MIRROR must be http(s)://host[:port]"),
});

export function registryPolicyFromEnv(env: Record<string, string | undefined> = process.env): RegistryPolicy {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`registry configuration: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  const e = parsed.data;
  const outboundAllow = outboundAllowFromEnv(env);
  return {
    insecure: e.HUB_INSECURE_REGISTRIES,
    outboundAllow,
    allow: e.HUB_REGISTRY_ALLOW,
    deny: e.HUB_REGISTRY_DENY,
    ...(e.HUB_DOCKERHUB_MIRROR !== undefined ? { dockerHubMirror: e.HUB_DOCKERHUB_MIRROR } : {}),
  };
}

function matches(pattern: string, registry: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith("*.")) return registry.endsWith(p.slice(1));
  return p === registry;
}

/** Throws `registry-not-allowed` unless the policy lets the hub pull from `registry`. */
export function checkRegistryAllowed(policy: RegistryPolicy, registry: string): void {
  if (policy.deny?.some((p) => matches(p, registry))) {
    throw new RegistryError("registry-not-allowed", `registry ${registry} is not allowed on this hub`);
  }
  if (policy.allow && policy.allow.length > 0 && !policy.allow.some((p) => matches(p, registry))) {
    throw new RegistryError("registry-not-allowed", `registry ${registry} is not allowed on this hub`);
  }
}

/** Whether `hostPort` (`host:port`, as in a URL's `host`) may be reached over plain HTTP. */
export function isInsecure(policy: RegistryPolicy, hostPort: string): boolean {
  return (policy.insecure ?? []).includes(hostPort.toLowerCase());
}

/** The base URL (`https://host[:port]`) of the registry API for a canonical registry name. */
export function registryBaseUrl(policy: RegistryPolicy, registry: string): string {
  if (registry === DOCKER_HUB) {
    const mirror = policy.dockerHubMirror;
    if (mirror === undefined) return `https://${DOCKER_HUB_ENDPOINT}`;
    const url = new URL(mirror);
    if (url.protocol === "http:" && !isInsecure(policy, url.host)) {
      throw new RegistryError("registry-not-allowed", `the Docker Hub mirror ${url.host} uses plain HTTP but is not in HUB_INSECURE_REGISTRIES`);
    }
    return `${url.protocol}//${url.host}`;
  }
  return `${isInsecure(policy, registry) ? "http" : "https"}://${registry}`;
}

/** URLs the client may send credentials or follow challenges to: HTTPS, or HTTP to an insecure-listed host. */
export function checkUrlScheme(policy: RegistryPolicy, url: URL, what: string): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && isInsecure(policy, url.host)) return;
  throw new RegistryError("registry-error", `${what} ${url.protocol}//${url.host} is not HTTPS (plain HTTP only for HUB_INSECURE_REGISTRIES)`);
}
