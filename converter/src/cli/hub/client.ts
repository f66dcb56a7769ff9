/**
 * The hub's HTTP API as `zhub` uses it: bearer token, acting repository (`X-Hub-Repository`), the JSON envelope
 * (`{"status":"success","payload":…}` / `{"status":"error","message":…}`) parsed with zod, and errors that carry
 * the hub's own message. The token is only ever put in the Authorization header, never in a message.
 */
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { z } from "zod";

/** The hub answered an error (or something that is not its API): `message` is the hub's, when it gave one. */
export class HubApiError extends Error {
  override readonly name = "HubApiError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const errorEnvelope = z.object({ status: z.literal("error"), message: z.string() });
const successEnvelope = z.object({ status: z.literal("success"), payload: z.unknown().optional() });

export interface ClientOptions {
  hub: string;
  token?: string | undefined;
  /** `--repo`: act for this repository (the user must be a member). */
  repository?: string | undefined;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

const segment = (s: string) => encodeURIComponent(s);
export const path = (...parts: string[]) => parts.map(segment).join("/");

export class HubClient {
  readonly hub: string;
  constructor(private readonly options: ClientOptions) {
    this.hub = options.hub;
  }

  get hasToken(): boolean {
    return this.options.token !== undefined;
  }

  /** Authorization (when a token is known) and acting repository headers. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    const out: Record<string, string> = { ...extra };
    if (this.options.token !== undefined) out.authorization = `bearer ${this.options.token}`;
    if (this.options.repository !== undefined) out["x-hub-repository"] = this.options.repository;
    return out;
  }

  requireToken(): void {
    if (this.options.token === undefined) throw new HubApiError("not logged in: run zhub login (or set ZHUB_TOKEN)", 0);
  }

  url(route: string): string {
    return `${this.hub}${route}`;
  }

  /** One request; network failures become a readable error naming the hub. */
  async fetch(route: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(this.url(route), { ...init, headers: this.headers((init.headers as Record<string, string> | undefined) ?? {}) });
    } catch (err) {
      throw unreachable(this.hub, err);
    }
  }

  /** A call answering the envelope: the payload on success, HubApiError with the hub's message otherwise. */
  async call<T>(route: string, init: RequestInit, payload: z.ZodType<T>): Promise<{ payload: T; headers: Headers; status: number }> {
    const res = await this.fetch(route, init);
    const text = await res.text();
    return { payload: parseEnvelope(res.status, text, payload), headers: res.headers, status: res.status };
  }

  /** A public route answering plain JSON (listings, contents). */
  async json<T>(route: string, schema: z.ZodType<T>): Promise<T> {
    const res = await this.fetch(route);
    const text = await res.text();
    if (!res.ok) throw errorOf(res.status, text);
    return parseWith(schema, text, route);
  }

  /**
   * A streamed request body (`PUT` of an archive or a part) with a known length, over node:http so that the
   * length is declared and never buffered; `onBytes` sees the bytes as they are handed to the socket.
   */
  send(method: string, route: string, body: Readable, length: number, extra: Record<string, string> = {}): Promise<RawAnswer> {
    const target = new URL(this.url(route));
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      // The hub may answer (413, 401, …) before it has read the whole body and close the connection: the write
      // side then fails (EPIPE, ECONNRESET), but its answer is what the user needs to see.
      let answered = false;
      const req = client.request(
        target,
        { method, headers: this.headers({ ...extra, "content-length": String(length), "content-type": extra["content-type"] ?? "application/octet-stream" }) },
        (res) => {
          answered = true;
          const parts: Buffer[] = [];
          res.on("data", (d: Buffer) => parts.push(d));
          res.on("error", reject);
          res.on("end", () => {
            // Nothing more will be read from the file when the hub answered early.
            body.unpipe(req);
            body.destroy();
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
            resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(parts).toString("utf8") });
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (answered) return;
        // Reset while sending: the hub (or a proxy) dropped the upload without an answer we could read.
        if (err.code === "EPIPE" || err.code === "ECONNRESET") {
          reject(new HubApiError(`the connection to ${this.hub} broke during the upload (${err.code}): try again`, 0));
        } else reject(unreachable(this.hub, err));
      });
      body.on("error", (err) => {
        req.destroy(err);
        reject(err);
      });
      body.pipe(req);
    });
  }
}

export function parseEnvelope<T>(status: number, text: string, payload: z.ZodType<T>): T {
  if (status < 200 || status >= 300) throw errorOf(status, text);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HubApiError(`the hub answered ${status} with something that is not JSON: ${text.slice(0, 120)}`, status);
  }
  const envelope = successEnvelope.safeParse(raw);
  if (!envelope.success) throw new HubApiError(`unexpected answer from the hub (${status}): ${text.slice(0, 200)}`, status);
  const parsed = payload.safeParse(envelope.data.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HubApiError(`unexpected answer from the hub: ${issue?.path.join(".") || "payload"}: ${issue?.message ?? "invalid"}`, status);
  }
  return parsed.data;
}

function parseWith<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HubApiError(`${what}: the hub answered something that is not JSON`, 200);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HubApiError(`${what}: unexpected answer from the hub: ${parsed.error.issues[0]?.message ?? "invalid"}`, 200);
  return parsed.data;
}

/** The hub's message from an error answer (its envelope, else the first bytes of the body). */
export function errorOf(status: number, text: string): HubApiError {
  try {
    const parsed = errorEnvelope.safeParse(JSON.parse(text));
    if (parsed.success) return new HubApiError(parsed.data.message, status);
  } catch {
    // not JSON (a proxy's page, a crash)
  }
  const body = text.replace(/\s+/g, " ").trim().slice(0, 200);
  return new HubApiError(`the hub answered ${status}${body ? `: ${body}` : ""}`, status);
}

function unreachable(hub: string, err: unknown): Error {
  // undici says "fetch failed" and keeps the useful part (ECONNREFUSED, …) in `cause`.
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  const why = e.cause?.code ?? e.code ?? e.cause?.message ?? e.message;
  return new HubApiError(`cannot reach the hub at ${hub} (${why})`, 0);
}
