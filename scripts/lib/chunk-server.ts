/**
 * The embedded 0-db server of a local run (`npm start`, and the end-to-end stack configured like it): with a file
 * chunk store, it listens on the HUB_BACKEND address that every flist names and serves that store over the 0-db
 * protocol, so real clients (Zero-OS nodes, zflist) read the chunks; the converter writes through it too, as it
 * would to a real 0-db (one path; docs/zdb.md has the measurement). A RESP store (a real 0-db, redis) serves its
 * chunks itself: then nothing is started.
 */
import { parseBackend } from "../../converter/src/ingest/metadata.ts";
import { openStore, parseStoreUrl } from "../../converter/src/store/index.ts";
import { ZdbServer } from "../../converter/src/store/zdb-server.ts";

export interface ChunkServer {
  server: ZdbServer;
  /** The directory of the file store it serves. */
  dir: string;
  /** What the converter writes to: `zdb://[:password@]host:port[/namespace]` (this server). */
  url: string;
  close(): Promise<void>;
}

export interface ChunkServerOptions {
  /** HUB_CHUNK_STORE: a `file://` URL gets a server; anything else does not. */
  chunkStore: string;
  /** HUB_BACKEND: `host:port[/namespace]`, where the server listens and which namespace holds the chunks. */
  backend: string;
  /** Writes need `SELECT <namespace> <password>`; reads never do. */
  password?: string | null;
  onError?: (err: Error) => void;
}

/** Starts the server for a file store; null for a RESP store. Errors name the variable to change. */
export async function startChunkServer(options: ChunkServerOptions): Promise<ChunkServer | null> {
  let parsed: ReturnType<typeof parseStoreUrl>;
  try {
    parsed = parseStoreUrl(options.chunkStore);
  } catch (err) {
    throw new Error(`HUB_CHUNK_STORE: ${(err as Error).message}`, { cause: err });
  }
  if (parsed.kind !== "file") return null;
  let address: ReturnType<typeof parseBackend>;
  try {
    address = parseBackend(options.backend);
  } catch (err) {
    throw new Error(`HUB_BACKEND: ${(err as Error).message}`, { cause: err });
  }
  const store = await openStore(options.chunkStore);
  const password = options.password || null;
  let server: ZdbServer;
  try {
    server = await ZdbServer.start({
      store,
      host: address.host,
      port: address.port,
      namespace: address.namespace ?? "default",
      password,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  } catch (err) {
    await store.close();
    throw new Error(
      `cannot serve the chunks on HUB_BACKEND ${options.backend}: ${(err as Error).message} (set HUB_BACKEND to another host:port, or HUB_CHUNK_STORE to the 0-db listening there)`,
      { cause: err },
    );
  }
  const auth = password ? `:${encodeURIComponent(password)}@` : "";
  const ns = address.namespace ? `/${encodeURIComponent(address.namespace)}` : "";
  return {
    server,
    dir: parsed.dir,
    url: `zdb://${auth}${server.address}${ns}`,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}
