/** Small node:http helpers: JSON answers in the hub's envelope and bounded request bodies. */
import type { IncomingMessage, ServerResponse } from "node:http";

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { status: "error", message });
}

/**
 * The request body, refused with 413 past `limit` bytes: by Content-Length before reading anything, else while
 * reading (chunked bodies). Small bodies only (JSON, one chunk): callers choose the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume(); // drain, so the connection can carry the 413
      reject(new HttpError(413, `request body over ${limit} bytes`));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        parts.length = 0;
        reject(new HttpError(413, `request body over ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(parts, size));
    });
    req.on("error", (err) => reject(new HttpError(400, `request body: ${err.message}`)));
  });
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}
