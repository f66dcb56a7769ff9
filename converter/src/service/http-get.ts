/**
 * Streamed GETs from the hub (job inputs, flist downloads) with node:http(s) rather than fetch.
 *
 * The converter reads as fast as the engine converts, often much slower than the hub sends. A server may close the
 * connection right after a response, announced or not (workerd does, docs/limits.md "Slow readers"); node:http
 * reads such a response to its declared end whatever comes after it, while Node 20's fetch (undici) fails a body it
 * had received whole when that close arrives during the consumer's backpressure ("terminated: other side closed").
 * One connection per download (no keep-alive pool), so a download never starts on a connection the server is
 * closing.
 */
import http from "node:http";
import https from "node:https";

/** No response headers within this long: the hub is not answering. */
const HEADERS_TIMEOUT_MS = 60_000;
/**
 * No byte for this long while the consumer waits for one: the hub stalled. Time the consumer spends behind (bytes
 * waiting for it) never counts, however slow it is.
 */
export const BODY_IDLE_TIMEOUT_MS = 300_000;

export interface HttpGetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Override of BODY_IDLE_TIMEOUT_MS (tests). */
  idleTimeoutMs?: number;
}

/** Resolves with the response once its headers arrived; the body is the response itself (a Readable). */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<http.IncomingMessage> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(target, {
      agent: false,
      headers: options.headers ?? {},
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const headersTimer = setTimeout(() => req.destroy(new Error(`no answer within ${HEADERS_TIMEOUT_MS / 1000} s`)), HEADERS_TIMEOUT_MS);
    headersTimer.unref();
    req.once("error", (err) => {
      clearTimeout(headersTimer);
      reject(err);
    });
    req.once("response", (res) => {
      clearTimeout(headersTimer);
      watchIdle(res, options.idleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS);
      resolve(res);
    });
  });
}

/** Destroys `res` when no byte arrived for `idleMs` while nothing was waiting for its consumer. */
function watchIdle(res: http.IncomingMessage, idleMs: number): void {
  const socket = res.socket;
  let lastBytes = socket?.bytesRead ?? 0;
  let idleSince = Date.now();
  const timer = setInterval(() => {
    const bytes = socket?.bytesRead ?? 0;
    if (bytes !== lastBytes || res.readableLength > 0) {
      lastBytes = bytes;
      idleSince = Date.now();
    } else if (Date.now() - idleSince >= idleMs) {
      res.destroy(new Error(`the hub sent nothing for ${Math.round(idleMs / 1000)} s`));
    }
  }, Math.max(10, Math.min(1000, idleMs / 4)));
  timer.unref();
  res.once("close", () => clearInterval(timer));
}
