/**
 * The Worker's side of docs/jobs-protocol.md, as a small real HTTP server for the converter service's tests:
 * it serves job inputs and public flist downloads, and records the events, publishes and failures the converter
 * sends. It is a test peer (the converter is what is under test), so it keeps no catalog: a publish is recorded
 * and answered like the real route, and `status` lets a test answer 409 (stale attempt) or errors.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedEvent {
  attempt: number;
  event: { status: string; message?: string; progress?: number };
}

export interface RecordedPublish {
  repository: string;
  name: string;
  flist: Buffer;
  info: { jobId?: string; attempt?: number; contents: { content: { path: string; size: number }[] } & Record<string, unknown>; metadata: Record<string, unknown>; entries?: { types: string; targets: string[] } };
}

export interface RecordedFail {
  attempt: number;
  message: string;
  status?: number;
}

export type Outcome = { kind: "publish"; publish: RecordedPublish } | { kind: "fail"; fail: RecordedFail };

export class HubPeer {
  url = "";
  readonly secret: string;
  /** Staged inputs: job id → file path. */
  readonly inputs = new Map<string, string>();
  /** Milliseconds to wait before serving a job's input (a slow job). */
  readonly inputDelays = new Map<string, number>();
  /** Public downloads: "repo/name" → file path. */
  readonly downloads = new Map<string, string>();
  /** Content-addressed downloads (`/api/blobs/<sha256>.flist`): sha256 → file path. */
  readonly blobs = new Map<string, string>();
  readonly events = new Map<string, RecordedEvent[]>();
  /** Event calls without an event (lease renewals), per job. */
  readonly heartbeats = new Map<string, number>();
  readonly publishes = new Map<string, RecordedPublish[]>();
  readonly fails = new Map<string, RecordedFail[]>();
  readonly unauthorized: string[] = [];
  /** Every call's path and `x-request-id` header, in order. */
  readonly calls: { path: string; requestId: string | undefined }[] = [];
  /** The lease an event call renews, as the Worker's answer says (`lease_until`). */
  leaseSeconds = 60;
  /** Status to answer to an internal call (default 200); e.g. 409 to make an attempt stale. */
  status: (call: "events" | "publish" | "fail", jobId: string, attempt: number) => number = () => 200;
  private server: http.Server | undefined;
  private waiters: { jobId: string; resolve: (o: Outcome) => void }[] = [];

  constructor(secret: string) {
    this.secret = secret;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "error", message: String(err) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves with the job's first publish or failure (already recorded ones included). */
  outcome(jobId: string, timeoutMs = 60_000): Promise<Outcome> {
    const published = this.publishes.get(jobId)?.[0];
    if (published) return Promise.resolve({ kind: "publish", publish: published });
    const failed = this.fails.get(jobId)?.[0];
    if (failed) return Promise.resolve({ kind: "fail", fail: failed });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${jobId}: no publish or fail within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ jobId, resolve: (o) => (clearTimeout(timer), resolve(o)) });
    });
  }

  private settle(jobId: string, outcome: Outcome): void {
    const [mine, others] = [this.waiters.filter((w) => w.jobId === jobId), this.waiters.filter((w) => w.jobId !== jobId)];
    this.waiters = others;
    for (const w of mine) w.resolve(outcome);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const requestId = req.headers["x-request-id"];
    this.calls.push({ path: url.pathname, requestId: typeof requestId === "string" ? requestId : undefined });
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const serveFile = (file: string | undefined) => {
      if (!file) return json(404, { status: "error", message: "not found" });
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": fs.statSync(file).size });
      fs.createReadStream(file).pipe(res);
    };
    if (parts[0] !== "internal") {
      if (req.method === "GET" && parts[0] === "api" && parts[1] === "blobs" && parts.length === 3) {
        return serveFile(this.blobs.get((parts[2] as string).replace(/\.flist$/, "")));
      }
      if (req.method === "GET" && parts.length === 2) return serveFile(this.downloads.get(`${parts[0]}/${parts[1]}`));
      return json(404, { status: "error", message: "not found" });
    }
    if (req.headers.authorization !== `Bearer ${this.secret}`) {
      this.unauthorized.push(url.pathname);
      return json(401, { status: "error", message: "unauthorized" });
    }
    const body = await readAll(req);
    if (parts[1] === "jobs" && parts.length === 4) {
      const jobId = parts[2] as string;
      if (parts[3] === "input" && req.method === "GET") {
        const delay = this.inputDelays.get(jobId);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        return serveFile(this.inputs.get(jobId));
      }
      const payload = JSON.parse(body.toString("utf8")) as { attempt: number; event?: RecordedEvent["event"]; message?: string; status?: number };
      if (parts[3] === "events") {
        const status = this.status("events", jobId, payload.attempt);
        if (status !== 200) return json(status, { status: "error", message: `answered ${status}` });
        const answer = { status: "success", payload: { lease_until: Date.now() / 1000 + this.leaseSeconds } };
        if (payload.event === undefined) {
          this.heartbeats.set(jobId, (this.heartbeats.get(jobId) ?? 0) + 1);
          return json(200, answer);
        }
        const list = this.events.get(jobId) ?? [];
        list.push({ attempt: payload.attempt, event: payload.event });
        this.events.set(jobId, list);
        return json(200, answer);
      }
      if (parts[3] === "fail") {
        const status = this.status("fail", jobId, payload.attempt);
        if (status !== 200) return json(status, { status: "error", message: `answered ${status}` });
        const fail: RecordedFail = { attempt: payload.attempt, message: payload.message ?? "", ...(payload.status ? { status: payload.status } : {}) };
        this.fails.set(jobId, [...(this.fails.get(jobId) ?? []), fail]);
        this.settle(jobId, { kind: "fail", fail });
        return json(200, { status: "success" });
      }
    }
    if (parts[1] === "publish" && parts.length === 4 && req.method === "PUT") {
      const form = await new Request("http://peer/", { method: "PUT", headers: { "content-type": req.headers["content-type"] ?? "" }, body }).formData();
      const file = form.get("flist");
      const info = JSON.parse(String(form.get("info"))) as RecordedPublish["info"];
      if (!(file instanceof Blob)) return json(400, { status: "error", message: "no flist part" });
      const jobId = info.jobId ?? "";
      const status = this.status("publish", jobId, info.attempt ?? 0);
      if (status !== 200) return json(status, { status: "error", message: `answered ${status}` });
      const publish: RecordedPublish = { repository: parts[2] as string, name: parts[3] as string, flist: Buffer.from(await file.arrayBuffer()), info };
      this.publishes.set(jobId, [...(this.publishes.get(jobId) ?? []), publish]);
      this.settle(jobId, { kind: "publish", publish });
      return json(200, { status: "success", payload: { repository: publish.repository, name: publish.name, size: publish.flist.length } });
    }
    return json(404, { status: "error", message: "not found" });
  }
}

async function readAll(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}
