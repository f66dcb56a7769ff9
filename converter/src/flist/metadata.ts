/**
 * The `metadata` table values exactly as zflist writes them (docs/flist-format.md §1.4,
 * `zflist/actions_metadata.c`): jansson `json_dumps(value, 0)` text (", " and ": " separators,
 * insertion order, UTF-8 left unescaped), built with zflist's key orders, so a flist we write
 * carries byte-identical metadata rows. Also the `backend` check the writer applies (docs/flist-format.md §5: `host`
 * and an integer `port` are mandatory, rfs v1 fails without them).
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * jansson's `json_dumps(value, 0)`: `{"a": 1, "b": [1, 2]}`. Differences from `JSON.stringify`: separators
 * with a space, control characters escaped with upper-case hex (`\u001B`, jansson's `"\\u%04X"`), and
 * `undefined` object fields left out.
 */
export function jsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonDumps).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${fields.map(([k, v]) => `${jsonString(k)}: ${jsonDumps(v)}`).join(", ")}}`;
  }
  return typeof value === "string" ? jsonString(value) : JSON.stringify(value);
}

function jsonString(text: string): string {
  // Walk escape pairs so an escaped backslash followed by "u00.." is left alone.
  return JSON.stringify(text).replace(/\\(u[0-9a-f]{4}|.)/g, (all: string, esc: string) =>
    esc.length === 5 ? `\\u${esc.slice(1).toUpperCase()}` : all,
  );
}

export interface Backend {
  host: string;
  port: number;
  namespace?: string;
  password?: string;
  /** Unix socket path; zflist then stores port 0. */
  socket?: string;
}

/**
 * `zflist metadata backend --host H --port P [--namespace N] [--password X] [--socket S]`:
 * the options first (namespace, password, socket), then `host` and `port`.
 */
export function backendMetadata(backend: Backend): string {
  const value: Record<string, Json> = {};
  if (backend.namespace !== undefined) value.namespace = backend.namespace;
  if (backend.password !== undefined) value.password = backend.password;
  if (backend.socket !== undefined) value.socket = backend.socket;
  value.host = backend.host;
  value.port = backend.socket !== undefined ? 0 : backend.port;
  return jsonDumps(value);
}

/** `zflist metadata entrypoint -- argv…` */
export function entrypointMetadata(argv: readonly string[]): string {
  return jsonDumps([...argv]);
}

/** `zflist metadata environ --name N --value V`, repeated in order. */
export function environMetadata(env: Iterable<readonly [string, string]>): string {
  const value: Record<string, Json> = {};
  for (const [name, v] of env) value[name] = v;
  return jsonDumps(value);
}

/** `zflist metadata port [--protocol tcp] --in I [--out O]`, repeated in order (out defaults to in). */
export function portMetadata(ports: Iterable<{ protocol?: string; in: number; out?: number }>): string {
  const value: Record<string, Json> = {};
  for (const p of ports) value[`${p.protocol ?? "tcp"}/${p.in}`] = p.out ?? p.in;
  return jsonDumps(value);
}

/** `zflist metadata volume --target T [--host H]`, repeated in order. */
export function volumeMetadata(volumes: Iterable<{ target: string; host?: string }>): string {
  const value: Record<string, Json> = {};
  for (const v of volumes) value[v.target] = v.host === undefined ? {} : { host: v.host };
  return jsonDumps(value);
}

/** `zflist metadata readme --import F [--license L]`. */
export function readmeMetadata(readme: { readme?: string; license?: string }): string {
  const value: Record<string, Json> = {};
  if (readme.readme !== undefined) value.readme = readme.readme;
  if (readme.license !== undefined) value.license = readme.license;
  return jsonDumps(value);
}

/**
 * Parses a `backend` value the way its consumers need it: `host` a string and `port` an integer
 * (0..65535); `namespace`, `password`, `socket` optional strings. Returns an error message instead
 * of throwing so callers can word their own failure.
 */
export function parseBackend(raw: string): Backend | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "backend metadata is not JSON";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "backend metadata is not a JSON object";
  const v = value as Record<string, unknown>;
  if (typeof v.host !== "string") return "backend metadata needs a string host";
  if (typeof v.port !== "number" || !Number.isInteger(v.port) || v.port < 0 || v.port > 65535) {
    return "backend metadata needs an integer port (0..65535)";
  }
  const backend: Backend = { host: v.host, port: v.port };
  for (const key of ["namespace", "password", "socket"] as const) {
    const field = v[key];
    if (field === undefined) continue;
    if (typeof field !== "string") return `backend metadata ${key} must be a string`;
    backend[key] = field;
  }
  return backend;
}
