/**
 * The converter's HTTP service (docs/jobs-protocol.md "Converter endpoints"): the Hono app of app.ts on Node's
 * HTTP server through `@hono/node-server`. It keeps no catalog state: several instances can run side by side.
 */
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { parseStoreUrl } from "../store/index.ts";
import { converterApp } from "./app.ts";
import type { ConverterConfig } from "./config.ts";
import { HubClient } from "./hub.ts";
import { JobRunner } from "./jobs.ts";
import { createLogger, type Logger } from "./log.ts";
import { ConverterMetrics } from "./metrics.ts";
import { SharedStore } from "./store.ts";

export interface ConverterService {
  server: http.Server;
  runner: JobRunner;
  /** The service's log (log.ts): main.ts writes its start and stop lines through it. */
  log: Logger;
  /** `http://host:port` once listening. */
  url: string;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Where the JSON log lines go (default: stdout). */
  log?: (line: string) => void;
  heartbeatMs?: number;
}

export async function startConverter(config: ConverterConfig, options: ServiceOptions = {}): Promise<ConverterService> {
  const storeUrl = parseStoreUrl(config.chunkStore);
  const storePassword = storeUrl.kind === "file" ? null : storeUrl.password;
  const secrets = [config.internalSecret, ...(storePassword ? [storePassword, encodeURIComponent(storePassword)] : [])];
  const log = createLogger({ level: config.logLevel, secrets, ...(options.log ? { sink: options.log } : {}) });
  const metrics = new ConverterMetrics();
  const store = new SharedStore(config.chunkStore, metrics);
  const hub = new HubClient(config.hubUrl, config.internalSecret);
  const runner = new JobRunner({ config, hub, store: () => store.get(), secrets, log, metrics, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
  const app = converterApp({ runner, store: () => store.get(), internalSecret: config.internalSecret, secrets, log, hubUrl: config.hubUrl, metrics });

  const server = createAdaptorServer({
    fetch: app.fetch,
    // The process's global Request/Response stay Node's own (the adapter would swap in its lighter classes).
    overrideGlobalObjects: false,
    // Unread request bodies are left to Node and to the routes (http.ts drains them): the adapter's own clean-up
    // would cut an upload off after 500 ms.
    autoCleanupIncoming: false,
  }) as http.Server;
  // A job with its input inline lasts as long as the client's upload: no bound on a whole request. A slow or
  // stuck client still cannot hold a socket forever: headers must come within 60 s and a socket idle for 60 s
  // (nothing received nor sent) is closed.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.timeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    server,
    runner,
    log,
    url: `http://${host}:${address.port}`,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await runner.close();
        await closed;
        await store.close();
      })()),
  };
}
