/**
 * 0-db / Redis chunk store over RESP2 (ioredis), with a small pool of connections.
 *
 * Connection lifecycle is ours, not ioredis's: its auto-reconnect is off because a silently re-established
 * 0-db connection would be back in the `default` namespace (SELECT is per connection) and could write chunks
 * to the wrong place. Instead every connection is set up completely (TCP, AUTH for Redis, `SELECT ns [pw]`
 * for 0-db) before use; a connection that dies is dropped and the next use opens a fresh one; a command that
 * failed because its connection died is retried once on a fresh connection (every command here is
 * idempotent), then fails with a StoreError naming the redacted address.
 *
 * Protocol notes (docs/clients.md §4.6): RESP2 only (0-db has no HELLO), no CLIENT SETINFO, no ready-check
 * INFO parsing; 0-db `SET` answers the key, or nil when the value is unchanged, Redis answers OK: all three
 * mean success. `EXISTS` is sent one key per command (0-db's EXISTS takes one key) and pipelined.
 */
import { Redis, ReplyError } from "ioredis";
import { StoreError, type ChunkStore, type StoreOptions } from "./types.ts";
import type { StoreUrl } from "./url.ts";

type RespUrl = Extract<StoreUrl, { kind: "zdb" | "redis" }>;

/** Keys per pipelined EXISTS round trip. */
const EXISTS_BATCH = 500;

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** An error that says the connection (not the server's answer) failed: worth one retry on a fresh one. */
function isConnectionError(e: unknown): boolean {
  return !(e instanceof ReplyError) && !(e instanceof StoreError);
}

function reason(e: unknown): string {
  const err = e as { message?: string; code?: string };
  return err?.message || err?.code || String(e);
}

export class RespStore implements ChunkStore {
  readonly description: string;
  private readonly slots: (Promise<Redis> | null)[];
  private next = 0;
  private closed = false;
  private readonly dropped = new WeakSet<Redis>();
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;

  private constructor(private readonly url: RespUrl, opts: StoreOptions) {
    this.description = url.description;
    this.slots = new Array<Promise<Redis> | null>(Math.max(1, opts.poolSize ?? 4)).fill(null);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 30_000;
  }

  /** Opens the store and checks it answers (one connection set up), so a bad address fails right away. */
  static async open(url: RespUrl, opts: StoreOptions = {}): Promise<RespStore> {
    const store = new RespStore(url, opts);
    await store.connection(0);
    return store;
  }

  private fail(message: string, cause?: unknown): StoreError {
    return new StoreError(this.description, message, { cause });
  }

  private async connect(): Promise<Redis> {
    const { url } = this;
    const conn = new Redis({
      host: url.host,
      port: url.port,
      lazyConnect: true,
      protocol: 2,
      password: url.kind === "redis" ? (url.password ?? undefined) : undefined,
      enableReadyCheck: false,
      disableClientInfo: true,
      retryStrategy: () => null,
      reconnectOnError: null,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
    });
    let lastError: unknown;
    // Errors surface through the failing commands; the listener keeps ioredis from logging them itself.
    conn.on("error", (e) => { lastError = e; });
    // The whole setup (TCP, AUTH, SELECT, PING) must finish within connectTimeoutMs: a server that accepts
    // connections but never answers (hung, or not a RESP server) must not hold us for the command timeout.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    });
    timeout.catch(() => {});
    const bounded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, timeout]);
    try {
      return await this.setUp(conn, bounded, () => lastError);
    } finally {
      clearTimeout(timer);
    }
  }

  private async setUp(conn: Redis, bounded: <T>(p: Promise<T>) => Promise<T>, lastError: () => unknown): Promise<Redis> {
    const { url } = this;
    try {
      await bounded(conn.connect());
    } catch (e) {
      conn.disconnect();
      const why = lastError() ?? e;
      if (why instanceof ReplyError || /WRONGPASS|NOAUTH|auth/i.test(reason(why))) {
        throw this.fail(`refused authentication (${reason(why)})`, why);
      }
      throw this.fail(`unreachable (${reason(why)})`, why);
    }
    // Per-connection setup. `step` names the command for the error message.
    let step = "PING";
    try {
      if (url.kind === "zdb" && (url.namespace !== null || url.password !== null)) {
        const ns = url.namespace ?? "default";
        step = `SELECT of namespace ${ns}`;
        const args = url.password !== null ? [ns, url.password] : [ns];
        const reply = await bounded(conn.call("SELECT", ...args));
        if (reply !== "OK") throw this.fail(`unexpected reply to SELECT ${ns}: ${String(reply)}`);
      } else if (url.kind === "redis" && url.db !== null) {
        step = `SELECT of db ${url.db}`;
        await bounded(conn.call("SELECT", String(url.db)));
      }
      // One round trip proves the server answers commands with these credentials (Redis answers NOAUTH
      // here when it needs a password we did not give).
      step = "PING";
      await bounded(conn.call("PING"));
    } catch (e) {
      conn.disconnect();
      if (e instanceof StoreError) throw e;
      if (e instanceof ReplyError) {
        if (/NOAUTH|WRONGPASS/i.test(reason(e))) throw this.fail(`refused: ${reason(e)}`, e);
        throw this.fail(`refused ${step} (${reason(e)})`, e);
      }
      throw this.fail(`unreachable (no answer to ${step}: ${reason(e)})`, e);
    }
    return conn;
  }

  /** The connection of a pool slot, (re)opened when missing or dead. */
  private async connection(slot: number): Promise<Redis> {
    if (this.closed) throw this.fail("store is closed");
    const current = this.slots[slot];
    if (current) {
      const conn = await current.catch(() => null);
      if (conn && conn.status === "ready") return conn;
      if (this.slots[slot] !== current) return this.connection(slot); // someone else is reconnecting
    }
    const fresh = this.connect();
    this.slots[slot] = fresh;
    fresh.catch(() => { if (this.slots[slot] === fresh) this.slots[slot] = null; });
    return fresh;
  }

  /**
   * Closes a connection that failed, once: every command in flight on it fails at the same time, and each further
   * disconnect() would add another listener to its socket.
   */
  private drop(conn: Redis): void {
    if (this.dropped.has(conn)) return;
    this.dropped.add(conn);
    conn.disconnect();
  }

  /** Runs `op` on a pooled connection, retrying once on a fresh connection if the connection failed. */
  private async run<T>(what: string, op: (conn: Redis) => Promise<T>): Promise<T> {
    const slot = this.next;
    this.next = (this.next + 1) % this.slots.length;
    for (let attempt = 0; ; attempt++) {
      const conn = await this.connection(slot);
      try {
        return await op(conn);
      } catch (e) {
        if (e instanceof StoreError) throw e;
        if (attempt === 0 && isConnectionError(e) && !this.closed) {
          this.drop(conn);
          continue;
        }
        if (e instanceof ReplyError) throw this.fail(`${what} refused (${reason(e)})`, e);
        throw this.fail(`${what} failed (${reason(e)})`, e);
      }
    }
  }

  async exists(keys: Uint8Array[]): Promise<boolean[]> {
    const batches: Promise<boolean[]>[] = [];
    for (let i = 0; i < keys.length; i += EXISTS_BATCH) {
      const batch = keys.slice(i, i + EXISTS_BATCH);
      batches.push(this.run("EXISTS", async (conn) => {
        const pipeline = conn.pipeline();
        for (const k of batch) pipeline.call("EXISTS", asBuffer(k));
        const results = await pipeline.exec();
        if (!results) throw new Error("pipeline aborted");
        return results.map(([err, n]) => {
          if (err) throw err;
          return Number(n) > 0;
        });
      }));
    }
    return (await Promise.all(batches)).flat();
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const k = asBuffer(key);
    await this.run("SET", async (conn) => {
      const reply = await conn.callBuffer("SET", k, asBuffer(value));
      // 0-db: the key (stored) or nil (same value already there); Redis: OK.
      if (reply === null) return;
      const text = Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply));
      if (text.equals(k) || text.toString() === "OK") return;
      throw new StoreError(this.description, `unexpected reply to SET: ${JSON.stringify(text.toString("latin1").slice(0, 80))}`);
    });
  }

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    const reply = await this.run("GET", (conn) => conn.callBuffer("GET", asBuffer(key)) as Promise<Buffer | null>);
    return reply === null ? null : new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    const conns = await Promise.all(this.slots.map((p) => p?.catch(() => null) ?? null));
    this.slots.fill(null);
    await Promise.all(conns.map(async (c) => {
      if (!c) return;
      try {
        if (c.status === "ready") await Promise.race([c.quit(), new Promise((r) => setTimeout(r, 1000).unref())]);
      } catch {
        // closing anyway
      } finally {
        c.disconnect();
      }
    }));
  }
}
