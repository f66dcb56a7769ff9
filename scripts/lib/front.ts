/**
 * The local hub's front door: a node:http(s) reverse proxy on the hub's port, in front of the Worker's workerd listening
 * on a private one (`npm start`, the end-to-end stack). It plays the part Cloudflare's edge plays in production.
 *
 * Why (docs/limits.md "Slow readers"): workerd's HTTP server gives a client 5 s after its request (KJ's
 * `pipelineTimeout`) to start the next one on the same connection, and closes the connection as soon as the current
 * response ends once that time is over, without a `Connection: close`. A response that takes longer than 5 s to read
 * is therefore followed by a FIN the client did not expect, and Node's fetch (undici) reports a download it read
 * whole as "terminated: other side closed" when that FIN arrives while its parser is paused by a slow consumer. This
 * proxy keeps client connections open like an edge does (closing an idle one only after `IDLE_KEEP_ALIVE_MS`), and
 * speaks to workerd with a client (node:http) that reads a response to its end whatever the server does with the
 * connection afterwards.
 *
 * Bodies stream both ways with backpressure; a client that goes away mid-request reaches workerd as a broken request
 * body, and a response that breaks off upstream breaks off for the client, as they would directly. The one exception:
 * with `revalidationSecret`, small public downloads are also kept whole and sent again after the Worker's 304
 * (./front-cache.ts): the Worker still answers every request, the front only saves relaying the same bytes again.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { cacheableAnswer, cacheableRequest, FrontCache, REVALIDATION_HEADER, refreshedHeaders } from "./front-cache.ts";

/** An idle client connection (its last response fully written) is closed after this long. */
export const IDLE_KEEP_ALIVE_MS = 10 * 60_000;

export interface FrontOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The port the Worker (workerd) listens on (same host). */
  upstreamPort: number;
  /** Requests under `/cdn-cgi/` go to this port instead (Miniflare's entry, which serves the scheduled trigger). */
  cdnCgiPort?: number;
  /** Serve HTTPS with this key and certificate, and reach the Worker (started with the same pair) over HTTPS. */
  tls?: { keyPath: string; certPath: string };
  /** One line per request that could not be relayed. */
  log?: (line: string) => void;
  /**
   * The Worker's INTERNAL_SECRET: turns on the revalidating cache of small public downloads (./front-cache.ts),
   * whose 304s the Worker counts as downloads when they carry it. Without it every body is relayed.
   */
  revalidationSecret?: string;
}

export interface Front {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the other. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"]);

/** `dropped`: more lower-case names that must not pass (a client's copy of the front's own revalidation header). */
function forwardedHeaders(raw: string[], connection: string | string[] | undefined, dropped: ReadonlySet<string> = new Set()): string[] {
  const named = new Set(
    [connection ?? []]
      .flat()
      .flatMap((v) => v.split(","))
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !named.has(lower) && !dropped.has(lower)) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** A request without a body (no Content-Length above 0, no Transfer-Encoding) can be sent again as it is. */
function bodyless(req: http.IncomingMessage): boolean {
  return req.headers["transfer-encoding"] === undefined && (req.headers["content-length"] === undefined || req.headers["content-length"] === "0");
}

/** Only the front sends its revalidation header (with the secret): a client's copy is dropped. */
const FRONT_ONLY = new Set([REVALIDATION_HEADER.toLowerCase()]);

/** Keeps a copy of the body of a cacheable 200 once it arrived whole; anything else forgets the URL's entry. */
function keep(cache: FrontCache, url: string, answer: http.IncomingMessage, headers: string[]): void {
  const cacheable = cacheableAnswer(answer);
  if (!cacheable) {
    cache.delete(url);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  answer.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  answer.on("end", () => {
    if (size === cacheable.length) cache.set(url, { etag: cacheable.etag, statusMessage: answer.statusMessage, headers, body: Buffer.concat(chunks, size) });
  });
}

export async function startFront(options: FrontOptions): Promise<Front> {
  const ca = options.tls ? fs.readFileSync(options.tls.certPath) : undefined;
  const log = options.log ?? (() => undefined);
  // Kept-alive connections to workerd: a new connection per request cost the front (and workerd) more CPU than the
  // request itself. workerd may close an idle one on its own schedule (the pipeline timeout above) just as a
  // request is sent on it; such a request, if it has no body, is sent once more on a new connection (what Node's
  // docs advise for `reusedSocket`). Requests with a body (uploads) get a connection of their own, never reused.
  const agent = new (options.tls ? https : http).Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: "lifo", ...(ca ? { ca } : {}) });

  const cache = options.revalidationSecret ? new FrontCache() : undefined;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const headers = forwardedHeaders(req.rawHeaders, req.headers.connection, FRONT_ONLY);
    const reusable = bodyless(req);
    const cacheKey = cache && cacheableRequest(req) ? req.url : undefined;
    const send = (retry: boolean) => {
      const kept = cacheKey === undefined ? undefined : cache!.get(cacheKey);
      const sent = kept ? [...headers, "If-None-Match", kept.etag, REVALIDATION_HEADER, options.revalidationSecret!] : headers;
      const requestOptions: http.RequestOptions = {
        host: options.host,
        port: options.cdnCgiPort !== undefined && req.url?.startsWith("/cdn-cgi/") ? options.cdnCgiPort : options.upstreamPort,
        method: req.method,
        path: req.url,
        agent: reusable ? agent : false,
        headers: (reusable ? sent : [...sent, "Connection", "close"]) as unknown as http.OutgoingHttpHeaders,
        ...(ca ? { ca } : {}),
      };
      const upstream = (options.tls ? https : http).request(requestOptions);
      let responded = false;

      upstream.on("response", (answer) => {
        responded = true;
        const answerHeaders = forwardedHeaders(answer.rawHeaders, answer.headers.connection);
        if (kept && answer.statusCode === 304) {
          // The Worker says the kept body is still the answer: it is sent from here.
          answer.resume();
          res.writeHead(200, kept.statusMessage, refreshedHeaders(kept.headers, answerHeaders));
          res.end(kept.body);
          return;
        }
        if (cacheKey !== undefined) keep(cache!, cacheKey, answer, answerHeaders);
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
        answer.pipe(res);
        // A response that breaks off upstream must break off here too, not end as if it were complete.
        answer.on("error", () => res.destroy());
        answer.on("aborted", () => res.destroy());
        res.on("close", () => {
          if (!res.writableFinished) answer.destroy();
        });
      });
      upstream.on("error", (err) => {
        if (!responded) {
          if (retry && upstream.reusedSocket && !res.destroyed) {
            send(false);
            return;
          }
          log(`${req.method} ${req.url}: the Worker did not answer (${err.message})`);
          if (!res.headersSent) {
            res.writeHead(502, { "content-type": "application/json" });
            res.end(JSON.stringify({ status: "error", message: `the local hub is not ready (the Worker: ${err.message})` }));
          } else res.destroy();
        }
        if (!reusable) {
          // The answer came and the upstream connection closed while the client was still sending: drop the rest.
          req.unpipe(upstream);
          req.resume();
        }
      });
      res.on("close", () => {
        if (!res.writableFinished && !responded) upstream.destroy(new Error("the client went away"));
      });
      if (reusable) {
        upstream.end();
        req.resume();
        return;
      }
      req.pipe(upstream);
      // A client that goes away mid-body must not look like a complete (shorter) body upstream.
      req.on("close", () => {
        if (!req.complete) upstream.destroy(new Error("the client closed its request"));
      });
    };
    send(true);
  };

  const server = options.tls
    ? https.createServer({ key: fs.readFileSync(options.tls.keyPath), cert: ca }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = IDLE_KEEP_ALIVE_MS;
  // Uploads (5 GiB streamed PUTs) and event streams may last long; workerd bounds what it must.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.timeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? "https" : "http"}://${options.host}:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
