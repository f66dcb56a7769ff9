/**
 * The metadata rows ingestion sets (flist-format.md §1.4): `backend` from `--backend host:port[/namespace]`, and
 * `readme` from a `/.README.md` or `/.README` in the tree (hub-api.md §7.2 step 4). Values are JSON exactly as
 * zflist stores them (jansson `json_dumps(obj, 0)`: `", "` / `": "` separators, insertion order, UTF-8 kept).
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

/** `zflist metadata backend --host H --port P [--namespace N]`: options first, then host and port. */
export function backendMetadata(backend: BackendSpec): string {
  const value: Record<string, unknown> = {};
  if (backend.namespace !== undefined) value.namespace = backend.namespace;
  value.host = backend.host;
  value.port = backend.port;
  return janssonStringify(value);
}

/** `zflist metadata readme --import F`: `{"readme": "<text>"}`. */
export function readmeMetadata(text: string): string {
  return janssonStringify({ readme: text });
}

/**
 * JSON as jansson 2.x dumps it with flags 0. Differences from `JSON.stringify`: separators with a space, and
 * control characters escaped as `\u001B` (upper-case hex), not `\u001b`.
 */
export function janssonStringify(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return typeof value === "string" ? upperEscapes(text) : text;
  }
  if (Array.isArray(value)) return `[${value.map(janssonStringify).join(", ")}]`;
  const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${fields.map(([k, v]) => `${upperEscapes(JSON.stringify(k))}: ${janssonStringify(v)}`).join(", ")}}`;
}

function upperEscapes(json: string): string {
  // Walk escape pairs so an escaped backslash followed by "u00.." is left alone.
  return json.replace(/\\(u[0-9a-f]{4}|.)/g, (all: string, esc: string) => (esc.length === 5 ? `\\${esc.toUpperCase().replace("U", "u")}` : all));
}
