/** The chunk store: a content-addressed key/value store (0-db, Redis or a directory). */
export interface ChunkStore {
  /** The store URL with any password redacted: safe to log and to put in error messages. */
  readonly description: string;
  /** For each key, whether the store holds it. Batched/pipelined: pass many keys at once. */
  exists(keys: Uint8Array[]): Promise<boolean[]>;
  /** Store a value. Idempotent (content-addressed: the same key always carries the same value). */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** The value, or null when the key is absent. */
  get(key: Uint8Array): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** RESP stores: connections in the pool (default 4). */
  poolSize?: number;
  /** RESP stores: TCP connect + handshake timeout in ms (default 5000). */
  connectTimeoutMs?: number;
  /** RESP stores: per-command timeout in ms (default 30000), so a stalled server fails instead of hanging. */
  commandTimeoutMs?: number;
}

/** Every failure of a store (unreachable, refused, protocol) is reported as this, naming the redacted address. */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(readonly store: string, message: string, options?: { cause?: unknown }) {
    super(`chunk store ${store}: ${message}`, options);
  }
}
