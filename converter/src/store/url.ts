/**
 * Chunk-store URLs:
 *   zdb://[:password@]host[:port][/namespace]   0-db (default port 9900, namespace "default")
 *   redis://[:password@]host[:port][/db]        Redis (default port 6379; numeric db)
 *   file:///absolute/path                       directory store
 *
 * A zdb password is the namespace password: every connection sends `SELECT <namespace> <password>` (also for
 * `default`, which is how 0-db's protected mode grants writes); without password or namespace no SELECT is
 * sent, as rfs does. A redis password is sent with AUTH. Passwords never appear in `description`.
 */
export type StoreUrl =
  | { kind: "zdb"; host: string; port: number; namespace: string | null; password: string | null; description: string }
  | { kind: "redis"; host: string; port: number; db: number | null; password: string | null; description: string }
  | { kind: "file"; dir: string; description: string };

/** The URL with the password replaced by `***` (and never the user part either). */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, (_m, scheme: string) => `${scheme}:***@`);
}

export function parseStoreUrl(raw: string): StoreUrl {
  const description = redactUrl(raw);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`invalid chunk store URL ${JSON.stringify(description)} (expected zdb://, redis:// or file://)`);
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme === "file") {
    if (u.host !== "" && u.host !== "localhost") throw new Error(`file store URL must be file:///path, got ${description}`);
    const dir = decodeURIComponent(u.pathname);
    if (dir === "" || dir === "/") throw new Error(`file store URL needs a directory: ${description}`);
    return { kind: "file", dir, description };
  }
  if (scheme !== "zdb" && scheme !== "redis") {
    throw new Error(`unsupported chunk store URL ${JSON.stringify(description)} (expected zdb://, redis:// or file://)`);
  }
  if (!u.hostname) throw new Error(`chunk store URL has no host: ${description}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port ? Number(u.port) : scheme === "zdb" ? 9900 : 6379;
  const password = u.password ? decodeURIComponent(u.password) : null;
  const path = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (u.search || u.hash) throw new Error(`chunk store URL takes no query or fragment: ${description}`);
  if (scheme === "zdb") {
    if (path.includes("/")) throw new Error(`zdb namespace cannot contain "/": ${description}`);
    if (path.length > 128) throw new Error(`zdb namespace longer than 128 bytes: ${description}`);
    return { kind: "zdb", host, port, namespace: path || null, password, description };
  }
  if (path !== "" && !/^\d+$/.test(path)) throw new Error(`redis URL path must be a numeric db: ${description}`);
  return { kind: "redis", host, port, db: path === "" ? null : Number(path), password, description };
}
