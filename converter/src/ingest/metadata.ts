/**
 * The `--backend host:port[/namespace]` address ingestion turns into `backend` metadata (the values themselves
 * are built by ../flist/metadata.ts exactly as zflist stores them).
 */

export interface BackendSpec {
  host: string;
  port: number;
  namespace?: string;
}

/** Parses `host:port[/namespace]`; IPv6 hosts go in brackets (`[::1]:9900/ns`). */
export function parseBackend(spec: string): BackendSpec {
  const match = /^(\[[^\]]+\]|[^:/[\]]+):(\d+)(?:\/(.+))?$/.exec(spec);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid backend '${spec}': expected host:port[/namespace] with a port from 1 to 65535`);
  }
  const host = (match[1] as string).replace(/^\[(.*)\]$/, "$1");
  return match[3] !== undefined ? { host, port, namespace: match[3] } : { host, port };
}
