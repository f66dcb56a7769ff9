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
import { InlineInput } from "./inline.ts";
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

/**
 * `POST /jobs` with the archive as the body and the spec in `X-Job-Spec` (base64url JSON): a streamed upload's
 * `tar` job, converted while the Worker still receives it (inline.ts). Answered `202` once the whole input was
 * read (answering earlier would let node:http discard the unread body), refused at once otherwise: the
 * connection is then closed, so the Worker's writes fail and it stages the upload alone.
 */
async function inlineJob(req: http.IncomingMessage, res: http.ServerResponse, runner: JobRunner): Promise<void> {
  const refuse = (status: number, message: string) => {
    res.setHeader("connection", "close");
    sendError(res, status, message);
    res.on("finish", () => req.destroy());
  };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(String(req.headers["x-job-spec"]), "base64url").toString("utf8"));
  } catch {
    return refuse(400, "invalid job: X-Job-Spec is not base64url JSON");
  }
  const parsed = jobSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(400, `invalid job: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "bad spec"}`);
  }
  if (parsed.data.kind !== "tar") return refuse(400, "invalid job: only tar jobs take their input inline");
  const declared = req.headers["x-input-size"];
  const size = Number(declared);
  if (typeof declared !== "string" || !/^\d+$/.test(declared) || size <= 0 || String(size) !== (req.headers["content-length"] ?? "")) {
    return refuse(400, "invalid job: X-Input-Size must equal Content-Length");
  }
  const input = new InlineInput(req, size);
  const result = runner.submitInline(parsed.data, input);
  if (result !== "accepted") return refuse(503, "converter busy, stage the input and dispatch later");
  if (await input.settled) sendJson(res, 202, { status: "accepted" });
  else res.destroy();
}

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
      if (req.headers["x-job-spec"] !== undefined) return inlineJob(req, res, runner);
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
