/**
 * The converter's HTTP service (docs/jobs-protocol.md "Converter endpoints"): `GET /health` (open), and, behind
 * the internal bearer secret, `POST /jobs`, `POST /chunks/missing`, `PUT /chunks/<hex>`. It keeps no catalog
 * state: several instances can run side by side.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StoreError, parseStoreUrl } from "../store/index.ts";
import { makeBearerCheck } from "./auth.ts";
import { handleMissing, handlePut } from "./chunks.ts";
import type { ConverterConfig } from "./config.ts";
import { scrub } from "./errors.ts";
import { HubClient } from "./hub.ts";
import { HttpError, readJson, sendError, sendJson } from "./http.ts";
import { JobRunner } from "./jobs.ts";
import { jobSpecSchema } from "./spec.ts";
import { SharedStore } from "./store.ts";

export interface ConverterService {
  server: http.Server;
  runner: JobRunner;
  /** `http://host:port` once listening. */
  url: string;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: (line: string) => void;
  heartbeatMs?: number;
}

/** Job specs are small (names, metadata fields, a list of sources). */
const MAX_SPEC_BYTES = 1024 * 1024;

export async function startConverter(config: ConverterConfig, options: ServiceOptions = {}): Promise<ConverterService> {
  const log = options.log ?? ((line: string) => console.log(line));
  const storeUrl = parseStoreUrl(config.chunkStore);
  const storePassword = storeUrl.kind === "file" ? null : storeUrl.password;
  const secrets = [config.internalSecret, ...(storePassword ? [storePassword, encodeURIComponent(storePassword)] : [])];
  const store = new SharedStore(config.chunkStore);
  const hub = new HubClient(config.hubUrl, config.internalSecret);
  const runner = new JobRunner({ config, hub, store: () => store.get(), secrets, log, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
  const authorized = makeBearerCheck(config.internalSecret);

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://converter");
    const method = req.method ?? "GET";
    if (url.pathname === "/health") {
      if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "method not allowed");
      return sendJson(res, 200, { status: "ok" });
    }
    if (!authorized(req)) {
      req.resume();
      throw new HttpError(401, "unauthorized");
    }
    if (url.pathname === "/jobs") {
      if (method !== "POST") throw new HttpError(405, "method not allowed");
      const parsed = jobSpecSchema.safeParse(await readJson(req, MAX_SPEC_BYTES));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new HttpError(400, `invalid job: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "bad spec"}`);
      }
      const result = runner.submit(parsed.data);
      if (result === "busy") return sendError(res, 503, "converter busy, retry later");
      return sendJson(res, 202, { status: "accepted" });
    }
    if (url.pathname === "/chunks/missing") {
      if (method !== "POST") throw new HttpError(405, "method not allowed");
      return handleMissing(req, res, () => store.get());
    }
    const chunk = /^\/chunks\/([^/]+)$/.exec(url.pathname);
    if (chunk) {
      if (method !== "PUT") throw new HttpError(405, "method not allowed");
      return handlePut(req, res, chunk[1] as string, () => store.get());
    }
    req.resume();
    throw new HttpError(404, "not found");
  };

  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendError(res, err.status, err.message);
      // The store is down or refused us: the caller may retry later (its message names the redacted address).
      if (err instanceof StoreError) return sendError(res, 503, scrub(err.message, secrets));
      log(`internal error on ${req.method} ${req.url}: ${scrub((err as Error).stack ?? String(err), secrets)}`);
      sendError(res, 500, "internal error");
    });
  });
  // Uploads of one chunk and job specs are small; a slow or stuck client must not hold a socket forever.
  server.requestTimeout = 60_000;

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
