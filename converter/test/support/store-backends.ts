/**
 * The RESP chunk-store backends the store tests run one shared suite against (as Hono runs one suite against each
 * runtime): Debian's redis-server (spoken to as redis:// and as zdb://), the real 0-db 2.0.7 (default namespace,
 * and a namespace with a password and public reads, as hub.grid.tf runs it), and the embedded 0-db server of
 * `npm start` over a file store (the same two set-ups).
 */
import { Redis } from "ioredis";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { openStore } from "../../src/store/index.ts";
import { ZdbServer } from "../../src/store/zdb-server.ts";
import { startRedis } from "./redis.ts";
import { startZdb } from "./zdb.ts";

export interface RunningBackend {
  /** The writer's store URL. */
  url: string;
  /** A public reader's URL (no password), for a namespace whose writes need one. */
  readUrl?: string;
  /** The server's process (redis-server, zdb), for freezing it with SIGSTOP. */
  pid?: number;
  /**
   * The server drops every client connection, keeping what it stores (redis: CLIENT KILL; zdb and the embedded
   * server: a restart on the same port).
   */
  dropConnections(): Promise<void>;
  /** Stops the server for good (the address then refuses connections). */
  stop(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Chunks in NAMESPACE, written with PASSWORD, read without (`readUrl`). */
  namespaced: boolean;
  /** Runs as a process of its own (`pid`), which a test can freeze. */
  ownProcess: boolean;
  start(): Promise<RunningBackend>;
}

export const NAMESPACE = "hub-ns";
export const PASSWORD = "hub-write-pw";

async function redisBackend(scheme: "redis" | "zdb"): Promise<RunningBackend> {
  const redis = await startRedis();
  return {
    url: `${scheme}://127.0.0.1:${redis.port}`,
    pid: redis.pid,
    dropConnections: async () => {
      const admin = new Redis({ port: redis.port, host: "127.0.0.1", protocol: 2, lazyConnect: true });
      try {
        await admin.connect();
        await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      } finally {
        admin.disconnect();
      }
    },
    stop: () => redis.stop(),
  };
}

async function zdbBackend(namespaced: boolean): Promise<RunningBackend> {
  const zdb = await startZdb(namespaced ? { namespace: NAMESPACE, password: PASSWORD } : {});
  return {
    url: zdb.url,
    ...(namespaced ? { readUrl: zdb.readUrl } : {}),
    get pid() {
      return zdb.pid;
    },
    dropConnections: async () => {
      await zdb.stop();
      await zdb.restart();
    },
    stop: () => zdb.destroy(),
  };
}

async function embeddedBackend(namespaced: boolean): Promise<RunningBackend> {
  const dir = await mkdtemp(join(tmpdir(), "zhub-embedded-"));
  const files = await openStore(pathToFileURL(join(dir, "chunks")).href);
  const options = { store: files, host: "127.0.0.1", ...(namespaced ? { namespace: NAMESPACE, password: PASSWORD } : {}) };
  let server: ZdbServer | null = await ZdbServer.start({ ...options, port: 0 });
  const port = server.port;
  const path = namespaced ? `/${NAMESPACE}` : "";
  return {
    url: `zdb://${namespaced ? `:${PASSWORD}@` : ""}127.0.0.1:${port}${path}`,
    ...(namespaced ? { readUrl: `zdb://127.0.0.1:${port}${path}` } : {}),
    dropConnections: async () => {
      await server?.close();
      server = await ZdbServer.start({ ...options, port });
    },
    stop: async () => {
      await server?.close();
      server = null;
      await files.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const BACKENDS: Backend[] = [
  { name: "redis-server as redis://", namespaced: false, ownProcess: true, start: () => redisBackend("redis") },
  { name: "redis-server as zdb:// (default namespace)", namespaced: false, ownProcess: true, start: () => redisBackend("zdb") },
  { name: "0-db 2.0.7, default namespace", namespaced: false, ownProcess: true, start: () => zdbBackend(false) },
  { name: "0-db 2.0.7, namespace with a password, public reads", namespaced: true, ownProcess: true, start: () => zdbBackend(true) },
  { name: "embedded 0-db server, default namespace", namespaced: false, ownProcess: false, start: () => embeddedBackend(false) },
  { name: "embedded 0-db server, namespace with a password, public reads", namespaced: true, ownProcess: false, start: () => embeddedBackend(true) },
];
