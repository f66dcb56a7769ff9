/**
 * Per-request cost (docs/benchmarks.md "Per-request cost"): counting wrappers around the D1 and R2 bindings and the
 * edge cache, created per request when HUB_REQUEST_COST is "true". The wrappers only count; every call goes to the
 * real binding with the same arguments, so what is measured is what production does.
 */
import type { Env } from "../env";
import type { Cost } from "./header";

/** Where a metered env keeps its counters (a symbol: never a binding name, never serialised). */
const METER = Symbol("request-cost");

type Metered = { [METER]?: Cost };

/** The counters of a metered env, or null (metering off). */
export function costOf(env: object): Cost | null {
  return (env as Metered)[METER] ?? null;
}

/** Counts an answer found in the isolate's memory tier (edge/memory.ts), when `env` is metered. */
export function countMemoryHit(env: object): void {
  const cost = costOf(env);
  if (cost) cost.memoryHits += 1;
}

function countMeta(cost: Cost, meta: D1Meta | undefined): void {
  cost.d1RowsRead += meta?.rows_read ?? 0;
  cost.d1RowsWritten += meta?.rows_written ?? 0;
}

/** The real statements behind the counting ones, so a batch hands D1 what it prepared. */
const realStatement = new WeakMap<object, D1PreparedStatement>();

function countedStatement(stmt: D1PreparedStatement, cost: Cost): D1PreparedStatement {
  const run = async <R extends { meta?: D1Meta }>(call: () => Promise<R>): Promise<R> => {
    const result = await call();
    cost.d1Queries += 1;
    cost.d1Statements += 1;
    countMeta(cost, result.meta);
    return result;
  };
  const counted = {
    bind: (...values: unknown[]) => countedStatement(stmt.bind(...values), cost),
    // first() answers no meta: ask for all() (D1 runs the whole statement either way) and take the first row.
    first: async (column?: string) => {
      const { results } = await run(() => stmt.all<Record<string, unknown>>());
      const row = results[0];
      if (row === undefined) return null;
      return column === undefined ? row : (row[column] ?? null);
    },
    all: () => run(() => stmt.all()),
    run: () => run(() => stmt.run()),
    raw: async (options?: { columnNames?: boolean }) => {
      cost.d1Queries += 1;
      cost.d1Statements += 1;
      return options?.columnNames ? stmt.raw({ columnNames: true }) : stmt.raw();
    },
  } as unknown as D1PreparedStatement;
  realStatement.set(counted, stmt);
  return counted;
}

function countedD1(db: D1Database, cost: Cost): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => countedStatement(target.prepare(sql), cost);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => realStatement.get(s) ?? s));
          cost.d1Queries += 1;
          cost.d1Statements += statements.length;
          for (const r of results) countMeta(cost, r.meta);
          return results;
        };
      }
      if (prop === "exec") {
        return async (sql: string) => {
          cost.d1Queries += 1;
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const R2_OPERATIONS = new Set(["head", "get", "put", "delete", "list", "createMultipartUpload", "resumeMultipartUpload"]);

function countedR2(bucket: R2Bucket, cost: Cost): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      const bound = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop !== "string" || !R2_OPERATIONS.has(prop)) return bound;
      return (...args: unknown[]) => {
        cost.r2Ops += 1;
        return bound(...args);
      };
    },
  });
}

/**
 * A metered request (HUB_REQUEST_COST on, never production) sent with `Cache-Control: no-cache` skips the edge
 * cache lookups, so a benchmark can measure a cold read of a route it already warmed; the answer is stored again.
 */
export function wantsCold(env: object, request: Request): boolean {
  return costOf(env) !== null && /\bno-cache\b/i.test(request.headers.get("Cache-Control") ?? "");
}

/** A copy of `env` whose DB and FLISTS count every call into `cost`. */
export function meteredEnv<E extends Pick<Env, "DB" | "FLISTS">>(env: E, cost: Cost): E {
  return { ...env, DB: countedD1(env.DB, cost), FLISTS: countedR2(env.FLISTS, cost), [METER]: cost };
}

/**
 * `caches.default`: the tsconfig's "WebWorker" lib declares a browser CacheStorage without it, which shadows
 * the Workers type; the runtime object has it.
 */
function defaultCache(): Cache {
  return (caches as unknown as { default: Cache }).default;
}

/** The edge cache (`caches.default`), counting hits, misses and writes when `env` is metered. */
export function edgeCache(env: object): Cache {
  const cache = defaultCache();
  const cost = costOf(env);
  if (!cost) return cache;
  return {
    match: async (key: RequestInfo, options?: CacheQueryOptions) => {
      const found = await cache.match(key, options);
      if (found) cost.cacheHits += 1;
      else cost.cacheMisses += 1;
      return found;
    },
    put: (key: RequestInfo, response: Response) => {
      cost.cacheWrites += 1;
      return cache.put(key, response);
    },
    delete: (key: RequestInfo, options?: CacheQueryOptions) => {
      cost.cacheWrites += 1;
      return cache.delete(key, options);
    },
  } as Cache;
}

