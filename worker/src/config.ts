/** Typed views of the Worker's string configuration (wrangler.toml `[vars]`). */
import type { Env } from "./env";

export interface Backend {
  host: string;
  port: number;
  namespace?: string;
}

/**
 * `HUB_BACKEND` = `host:port[/namespace]`, the public chunk backend. The shape is the `backend` metadata the
 * converter writes into every flist it makes (no `namespace` key when none is configured: zdb's default), so
 * `backend-forced` and the hub's own flists agree.
 */
export function publicBackend(env: Env): Backend | null {
  const match = /^([^:/\s]+):(\d{1,5})(?:\/([^/\s]+))?$/.exec((env.HUB_BACKEND ?? "").trim());
  if (!match) return null;
  const backend: Backend = { host: match[1]!, port: Number(match[2]) };
  if (match[3] !== undefined) backend.namespace = match[3];
  return backend;
}

/** `zdb://host:port`, the "Storage" line of `.txt`/`.json` (the original shows no namespace there). */
export function storageUrl(env: Env): string {
  const backend = publicBackend(env);
  return backend ? `zdb://${backend.host}:${backend.port}` : "";
}

export function officialRepositories(env: Env): Set<string> {
  return new Set(
    (env.HUB_OFFICIAL_REPOSITORIES ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** Base URL of the hub for "Source" links: configuration, else the origin the client used. */
export function publicUrl(env: Env, requestUrl: string): string {
  const configured = (env.HUB_PUBLIC_URL ?? "").trim().replace(/\/+$/, "");
  return configured || new URL(requestUrl).origin;
}
