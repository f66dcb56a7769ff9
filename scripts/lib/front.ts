/**
 * The local hub's front door: a node:http(s) reverse proxy on the hub's port, in front of `wrangler dev` listening
 * on a private one (`npm start`, the end-to-end stack). It plays the part Cloudflare's edge plays in production.
 *
 * Why (docs/limits.md "Slow readers"): workerd's HTTP server gives a client 5 s after its request (KJ's
 * `pipelineTimeout`) to start the next one on the same connection, and closes the connection as soon as the current
 * response ends once that time is over, without a `Connection: close`. A response that takes longer than 5 s to read
 * is therefore followed by a FIN the client did not expect, and Node's fetch (undici) reports a download it read
 * whole as "terminated: other side closed" when that FIN arrives while its parser is paused by a slow consumer. This
 * proxy keeps client connections open like an edge does (closing an idle one only after `IDLE_KEEP_ALIVE_MS`), and
 * speaks to workerd one request per connection, with a client (node:http) that reads a response to its end whatever
 * the server does with the connection afterwards.
 *
 * Bodies stream both ways with backpressure (never buffered); a client that goes away mid-request reaches workerd as
 * a broken request body, and a response that breaks off upstream breaks off for the client, as they would directly.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

/** An idle client connection (its last response fully written) is closed after this long. */
export const IDLE_KEEP_ALIVE_MS = 10 * 60_000;

export interface FrontOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The port `wrangler dev` listens on (same host). */
  upstreamPort: number;
  /** Serve HTTPS with this key and certificate, and reach wrangler (started with the same pair) over HTTPS. */
  tls?: { keyPath: string; certPath: string };
  /** One line per request that could not be relayed. */
  log?: (line: string) => void;
}

export interface Front {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the other. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"]);

function forwardedHeaders(raw: string[], connection: string | string[] | undefined): string[] {
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
    if (!HOP_BY_HOP.has(lower) && !named.has(lower)) out.push(name, raw[i + 1] as string);
  }
  return out;
}

export async function startFront(options: FrontOptions): Promise<Front> {
  const ca = options.tls ? fs.readFileSync(options.tls.certPath) : undefined;
  const log = options.log ?? (() => undefined);

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const headers = forwardedHeaders(req.rawHeaders, req.headers.connection);
    const requestOptions: http.RequestOptions = {
      host: options.host,
      port: options.upstreamPort,
      method: req.method,
      path: req.url,
      // One request per upstream connection: workerd closes kept-alive connections on its own schedule, and a
      // request sent on a connection it is just closing would fail.
      agent: false,
      headers: [...headers, "Connection", "close"] as unknown as http.OutgoingHttpHeaders,
      ...(ca ? { ca } : {}),
    };
    const upstream = (options.tls ? https : http).request(requestOptions);
    let responded = false;

    upstream.on("response", (answer) => {
      responded = true;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedHeaders(answer.rawHeaders, answer.headers.connection));
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
        log(`${req.method} ${req.url}: wrangler dev did not answer (${err.message})`);
        if (!res.headersSent) {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ status: "error", message: `the local hub is not ready (wrangler dev: ${err.message})` }));
        } else res.destroy();
      }
      // The answer came and the upstream connection closed while the client was still sending: drop the rest.
      req.unpipe(upstream);
      req.resume();
    });

    req.pipe(upstream);
    // A client that goes away mid-body must not look like a complete (shorter) body upstream.
    req.on("close", () => {
      if (!req.complete) upstream.destroy(new Error("the client closed its request"));
    });
    res.on("close", () => {
      if (!res.writableFinished && !responded) upstream.destroy(new Error("the client went away"));
    });
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
