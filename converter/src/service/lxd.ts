/**
 * `lxd` jobs (issue 7): a published flist as an LXD container image. The flist pinned by the Worker (its sha256 in
 * the spec's metadata) is downloaded by content address, its tree read back from the chunk store into
 * rootfs.squashfs with a generated lxd.tar.xz (converter/src/lxd/image.ts), and both are handed to the Worker's
 * internal image routes (metadata first, as lxd.tar.xz and incus.tar.xz), which store them as `<repo>:<flist-name>:amd64:default`; then `done`.
 */
import fs from "node:fs";
import path from "node:path";
import { readFlist } from "../flist/index.ts";
import { buildLxdImage, describeFlist } from "../lxd/image.ts";
import type { JobContext } from "./context.ts";
import { JobFailure } from "./errors.ts";
import { FLIST_READ_LIMITS, MAX_FLIST_BYTES, saveDownload } from "./files.ts";
import { HubError, StaleJobError } from "./hub.ts";
import type { LxdJob } from "./spec.ts";

async function internalCall(ctx: JobContext, spec: LxdJob, what: string, url: string, init: RequestInit): Promise<void> {
  const res = await fetch(`${ctx.config.hubUrl}${url}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${ctx.config.internalSecret}`, "x-job-attempt": String(spec.attempt) },
    signal: ctx.signal,
  });
  const text = await res.text().catch(() => "");
  if (res.status === 409) throw new StaleJobError();
  if (!res.ok) throw new HubError(`${what}: the hub answered ${res.status}: ${text.slice(0, 200)}`, res.status);
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
  // The same metadata tarball under both names: LXD reads lxd.tar.xz, Incus incus.tar.xz (peers.md §1.1).
  const files = [["lxd.tar.xz", image.metadata], ["incus.tar.xz", image.metadata], ["rootfs.squashfs", image.rootfs]] as const;
  for (const [name, p] of files) {
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
