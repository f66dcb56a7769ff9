/**
 * `lxd` jobs: a published flist as an LXD container image. The flist pinned by the Worker (its sha256 in
 * the spec's metadata) is downloaded by content address, its tree read back from the chunk store into
 * rootfs.squashfs with a generated lxd.tar.xz (converter/src/lxd/image.ts), and both are handed to the Worker's
 * internal image routes (metadata first, as lxd.tar.xz and incus.tar.xz), which store them as `<repo>:<flist-name>:amd64:default`; then `done`.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { readFlist } from "../flist/index.ts";
import { buildLxdImage, describeFlist } from "../lxd/image.ts";
import type { JobContext } from "./context.ts";
import { JobFailure } from "./errors.ts";
import { FLIST_READ_LIMITS, MAX_FLIST_BYTES, saveDownload } from "./files.ts";
import { HubError, StaleJobError } from "./hub.ts";
import type { LxdJob } from "./spec.ts";

/** One internal call for the job; answers the body's text. */
async function internalCall(ctx: JobContext, spec: LxdJob, what: string, url: string, init: RequestInit): Promise<string> {
  const res = await fetch(`${ctx.config.hubUrl}${url}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${ctx.config.internalSecret}`, "x-job-attempt": String(spec.attempt) },
    signal: ctx.signal,
  });
  const text = await res.text().catch(() => "");
  if (res.status === 409) throw new StaleJobError();
  if (!res.ok) throw new HubError(`${what}: the hub answered ${res.status}: ${text.slice(0, 200)}`, res.status);
  return text;
}

/** The largest request body the hub takes (`GET /api/limits`); undefined when it does not say (an older hub). */
async function requestLimit(ctx: JobContext): Promise<number | undefined> {
  try {
    const res = await fetch(`${ctx.config.hubUrl}/api/limits`, { signal: ctx.signal });
    const body = limitsSchema.safeParse(await res.json());
    return res.ok && body.success ? body.data.payload.requestMaxBytes : undefined;
  } catch {
    return undefined;
  }
}

const limitsSchema = z.object({ payload: z.object({ requestMaxBytes: z.number().int().positive() }) });
const partsSchema = z.object({ payload: z.object({ id: z.string(), partSize: z.number().int().positive(), parts: z.number().int().positive() }) });

/**
 * A rootfs larger than one request may carry, in parts (the hub's resumable image upload for this job, in order),
 * each a slice of the file streamed from disk.
 */
async function uploadInParts(ctx: JobContext, spec: LxdJob, base: string, file: string, size: number): Promise<number> {
  const text = await internalCall(ctx, spec, "starting the rootfs upload", `${base}/uploads`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ file: "rootfs.squashfs", size }),
  });
  const session = partsSchema.safeParse(JSON.parse(text));
  if (!session.success) throw new HubError(`starting the rootfs upload: unexpected answer ${text.slice(0, 200)}`);
  const { id, partSize, parts } = session.data.payload;
  const blob = await fs.openAsBlob(file);
  for (let n = 1; n <= parts; n++) {
    const start = (n - 1) * partSize;
    const body = blob.slice(start, Math.min(size, start + partSize));
    await internalCall(ctx, spec, `uploading rootfs.squashfs part ${n} of ${parts}`, `${base}/uploads/${encodeURIComponent(id)}/${n}`, { method: "PUT", body });
  }
  await internalCall(ctx, spec, "completing the rootfs upload", `${base}/uploads/${encodeURIComponent(id)}/complete`, { method: "POST" });
  return parts;
}

export async function runLxd(ctx: JobContext, spec: LxdJob): Promise<void> {
  const sha256 = spec.metadata.sha256;
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new JobFailure("lxd job without the flist's sha256");
  const label = `${spec.repository}/${spec.name}`;
  ctx.events.update(`Reading ${label}`, 2);
  const file = path.join(ctx.tmpDir, "source.flist");
  const got = await saveDownload(await ctx.hub.blob(sha256, ctx.signal), file, MAX_FLIST_BYTES, label);
  if (got !== sha256) throw new JobFailure(`${label}: downloaded bytes do not match sha256 ${sha256}`);
  const tree = await readFlist(file, FLIST_READ_LIMITS);
  const store = await ctx.store();
  const out = path.join(ctx.tmpDir, "image");
  await fs.promises.mkdir(out);
  const release = spec.name.replace(/\.flist$/, "");
  const image = await buildLxdImage(tree, store, out, {
    creationDate: Math.floor(Date.now() / 1000),
    description: describeFlist(tree, `${spec.repository}/${release}`),
    os: spec.repository,
    release,
    signal: ctx.signal,
    onProgress: (done, total) => ctx.events.update(`Building rootfs: file ${done} of ${total}`, 5 + Math.floor((80 * done) / Math.max(total, 1))),
  });
  ctx.events.update("Uploading the image", 90);
  const base = `/internal/images/jobs/${encodeURIComponent(spec.id)}`;
  // The same metadata tarball under both names: LXD reads lxd.tar.xz, Incus incus.tar.xz (docs/design.md §4.1).
  const files = [["lxd.tar.xz", image.metadata], ["incus.tar.xz", image.metadata], ["rootfs.squashfs", image.rootfs]] as const;
  const limit = await requestLimit(ctx);
  for (const [name, p] of files) {
    const size = (await fs.promises.stat(p)).size;
    if (name === "rootfs.squashfs" && limit !== undefined && size > limit) {
      const parts = await uploadInParts(ctx, spec, base, p, size);
      ctx.log(`rootfs.squashfs (${size} bytes) sent in ${parts} parts: the hub takes at most ${limit} bytes per request`);
      continue;
    }
    // A file-backed Blob: streamed from disk with its Content-Length, never read into memory.
    const body = await fs.openAsBlob(p);
    await internalCall(ctx, spec, `uploading ${name}`, `${base}/${name}`, { method: "PUT", body });
  }
  ctx.events.update("Image ready !", 100);
  await ctx.events.flush();
  await internalCall(ctx, spec, "publishing the image", `${base}/done`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ attempt: spec.attempt }),
  });
}
