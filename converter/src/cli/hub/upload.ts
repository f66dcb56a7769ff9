/**
 * Archive uploads: the streamed raw `PUT /api/flist/me/upload/<name>.tar.gz` (one request, never parsed by the
 * Worker, converted while it arrives) when the archive fits in one request to this hub, the resumable protocol
 * (`POST /api/flist/me/uploads`, parts, complete) otherwise. The hub says what fits (`GET /api/limits`
 * `streamedMaxBytes`: 95 MiB behind Cloudflare's smallest plans, up to 5 GiB on a local or self-hosted hub); a hub
 * without that route gets parts above `RESUMABLE_ABOVE`, as a single request body over 100 MB is refused on the
 * smallest Cloudflare plans. An interrupted
 * resumable upload is resumed by running the same command again: the session id is kept next to the config
 * file, and the parts the hub already holds are not sent again.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { Progress } from "../progress.ts";
import { type HubClient, HubApiError, parseEnvelope, path as route } from "./client.ts";
import { configPath } from "./config.ts";
import { acceptedSchema } from "./jobs.ts";

/** Cloudflare's request-body limit on the smallest plans is 100 MB: bigger archives go in parts (hubs without limits). */
export const RESUMABLE_ABOVE = 95 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** Parts in flight at once: enough to keep a link busy, few enough for a small Worker. */
const PARALLEL_PARTS = 3;

export interface UploadOptions {
  /** Target name without `.flist` / `.tar.gz`. */
  name: string;
  metadata: Record<string, string>;
  partSize?: number;
  /** Force the resumable protocol whatever the size (tests, flaky links). */
  resumable?: boolean;
  stderr: NodeJS.WriteStream;
}

/** `app.tar.gz`, `app.tgz`, `app.tar` → `app`; `--name x.flist` → `x`. */
export function targetName(file: string, name: string | undefined): string {
  if (name !== undefined) return name.replace(/\.flist$/, "").replace(/\.tar\.gz$/, "");
  return path.basename(file).replace(/\.(tar\.gz|tgz|tar)$/, "");
}

/** Uploads the archive and answers the job id (the job is then running on the hub). */
export async function uploadArchive(client: HubClient, file: string, options: UploadOptions): Promise<string> {
  const stat = await fs.promises.stat(file);
  if (!stat.isFile()) throw new HubApiError(`${file}: not a file`, 0);
  if (stat.size === 0) throw new HubApiError(`${file}: empty archive`, 0);
  const progress = new Progress("upload", options.stderr);
  try {
    const resumable = options.resumable === true || stat.size > (await streamedMaxBytes(client));
    return resumable ? await resumableUpload(client, file, stat, options, progress) : await streamedUpload(client, file, stat.size, options, progress);
  } finally {
    progress.done();
  }
}

const limitsSchema = z.object({ streamedMaxBytes: z.number().int().positive() }).passthrough();

/** The largest archive this hub takes in one streamed PUT (`GET /api/limits`); RESUMABLE_ABOVE if it does not say. */
async function streamedMaxBytes(client: HubClient): Promise<number> {
  try {
    return (await client.call("/api/limits", {}, limitsSchema)).payload.streamedMaxBytes;
  } catch (err) {
    if (err instanceof HubApiError && err.status === 404) return RESUMABLE_ABOVE; // an older hub, or the original
    throw err;
  }
}

async function streamedUpload(client: HubClient, file: string, size: number, options: UploadOptions, progress: Progress): Promise<string> {
  const filename = `${options.name}.tar.gz`;
  const query = new URLSearchParams({ async: "1" });
  for (const [k, v] of Object.entries(options.metadata)) query.set(`metadata-${k}`, v);
  const body = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  let sent = 0;
  body.on("data", (d) => {
    sent += d.length;
    progress.update({ done: sent, total: size, detail: "" });
  });
  // X-Original-Name keeps the name as given (the URL's file name would go through secure_filename).
  const answer = await client.send("PUT", `/api/flist/me/upload/${route(filename)}?${query}`, body, size, { "x-original-name": filename });
  return parseEnvelope(answer.status, answer.text, acceptedSchema).job;
}

const sessionSchema = z.object({ id: z.string(), name: z.string(), partSize: z.number() }).passthrough();
const stateSchema = z.object({
  status: z.string(),
  partSize: z.number(),
  parts: z.array(z.object({ part: z.number(), size: z.number() }).passthrough()),
});

/** Pending resumable uploads, by what identifies the same upload again (file, size, mtime, hub, repo, name). */
const pendingSchema = z.record(z.string(), z.string());

function pendingFile(): string {
  return path.join(path.dirname(configPath()), "uploads.json");
}

async function readPending(): Promise<Record<string, string>> {
  try {
    return pendingSchema.parse(JSON.parse(await fs.promises.readFile(pendingFile(), "utf8")));
  } catch {
    return {};
  }
}

async function writePending(update: (pending: Record<string, string>) => void): Promise<void> {
  const pending = await readPending();
  update(pending);
  await fs.promises.mkdir(path.dirname(pendingFile()), { recursive: true, mode: 0o700 });
  await fs.promises.writeFile(pendingFile(), `${JSON.stringify(pending)}\n`, { mode: 0o600 });
}

async function resumableUpload(client: HubClient, file: string, stat: fs.Stats, options: UploadOptions, progress: Progress): Promise<string> {
  const filename = `${options.name}.tar.gz`;
  const key = crypto
    .createHash("sha256")
    .update(JSON.stringify([path.resolve(file), stat.size, stat.mtimeMs, client.hub, client.headers()["x-hub-repository"] ?? "", filename, options.metadata]))
    .digest("hex");

  // Resume a session of an earlier run when the hub still has it open.
  let id = (await readPending())[key];
  let partSize = 0;
  const have = new Map<number, number>();
  if (id !== undefined) {
    try {
      const { payload } = await client.call(`/api/flist/me/uploads/${route(id)}`, {}, stateSchema);
      if (payload.status === "open") {
        partSize = payload.partSize;
        for (const p of payload.parts) have.set(p.part, p.size);
        options.stderr.write(`upload: resuming (${have.size} parts already on the hub)\n`);
      } else id = undefined;
    } catch (err) {
      if (!(err instanceof HubApiError) || err.status !== 404) throw err;
      id = undefined;
    }
  }
  if (id === undefined) {
    const { payload } = await client.call(
      "/api/flist/me/uploads",
      {
        method: "POST",
        headers: { "content-type": "application/json", "x-original-name": filename },
        body: JSON.stringify({ filename, size: stat.size, metadata: options.metadata, ...(options.partSize ? { partSize: options.partSize } : {}) }),
      },
      sessionSchema,
    );
    id = payload.id;
    partSize = payload.partSize;
    const session = id;
    await writePending((p) => (p[key] = session));
  }
  const session = id;

  const count = Math.ceil(stat.size / partSize);
  const sizeOf = (part: number) => Math.min(partSize, stat.size - (part - 1) * partSize);
  const todo: number[] = [];
  for (let part = 1; part <= count; part++) if (have.get(part) !== sizeOf(part)) todo.push(part);
  let sent = 0;
  for (let part = 1; part <= count; part++) if (!todo.includes(part)) sent += sizeOf(part);
  const inFlight = new Map<number, number>();
  const show = () => progress.update({ done: sent + [...inFlight.values()].reduce((a, b) => a + b, 0), total: stat.size, detail: `part size ${partSize >> 20} MiB` });

  const sendPart = async (part: number) => {
    for (let attempt = 1; ; attempt++) {
      const start = (part - 1) * partSize;
      const body = fs.createReadStream(file, { start, end: start + sizeOf(part) - 1, highWaterMark: 1024 * 1024 });
      inFlight.set(part, 0);
      body.on("data", (d) => {
        inFlight.set(part, (inFlight.get(part) ?? 0) + d.length);
        show();
      });
      try {
        const answer = await client.send("PUT", `/api/flist/me/uploads/${route(session)}/${part}`, body, sizeOf(part));
        parseEnvelope(answer.status, answer.text, z.unknown());
        inFlight.delete(part);
        sent += sizeOf(part);
        show();
        return;
      } catch (err) {
        inFlight.delete(part);
        // A dropped connection or a 5xx is worth another try; a 4xx is the hub refusing the upload.
        const retry = !(err instanceof HubApiError) || err.status === 0 || err.status >= 500;
        if (!retry || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  };
  // On a failure no new part starts, but the parts in flight finish: the hub keeps them for the next run.
  const queue = [...todo];
  let failure: unknown;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, async () => {
      for (let part = queue.shift(); part !== undefined && failure === undefined; part = queue.shift()) {
        await sendPart(part).catch((err: unknown) => (failure ??= err));
      }
    }),
  );
  if (failure !== undefined) throw failure;

  const { payload } = await client.call(`/api/flist/me/uploads/${route(session)}/complete?async=1`, { method: "POST" }, acceptedSchema);
  await writePending((p) => delete p[key]);
  return payload.job;
}
