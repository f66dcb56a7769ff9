/**
 * The resumable-upload protocol (worker/src/resumable/) against both of its mounts: archives at
 * `/api/flist/me/uploads` (completing starts a tar job over the assembled object) and image files at
 * `/api/images/uploads` (completing records the image file). Each mount's own cases stay in upload-large.test.ts
 * and images-resumable.test.ts.
 */
import { env } from "cloudflare:workers";
import { beforeAll, expect } from "vitest";
import { fetchHub, asUser, migrate } from "./support/hub";
import { jobRow, stubConverter } from "./support/jobs";
import { hubCall, runResumableSuite } from "./support/resumable-suite";

const stub = stubConverter();
// Not restored: the real Queue may still deliver this file's messages after its last test.

beforeAll(migrate);

async function sha256(data: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

runResumableSuite({
  name: "archives",
  base: "/api/flist/me/uploads",
  table: "upload_sessions",
  owner: "archiver",
  intruder: "archive-intruder",
  createBody: (size, partSize) => ({ filename: "big.tar.gz", size, partSize }),
  order: "any",
  notFound: "upload not found",
  what: "archive",
  oversizedPart: 413,
  afterAbort: 409,
  abortAnswer: () => undefined,
  swept: true,
  completeQuery: "?async=1",
  completeStatus: 202,
  async resumeFrom(id) {
    // The status listing says which parts arrived: the first gap is where to go on.
    const listing = await hubCall(`/api/flist/me/uploads/${id}`, { headers: await asUser("archiver") });
    expect(listing.status).toBe(200);
    const have = new Set((listing.body.payload.parts as { part: number }[]).map((p) => p.part));
    let part = 1;
    while (have.has(part)) part += 1;
    return part;
  },
  async verify(id, answer, bytes) {
    expect(answer.payload.job).toBe(id);
    const staged = await env.FLISTS.get(`uploads/${id}`);
    expect(staged!.size).toBe(bytes.length);
    expect(await sha256(await staged!.arrayBuffer())).toBe(await sha256(bytes));
    expect(await jobRow(id)).toMatchObject({ kind: "tar", name: "big.flist", input_size: bytes.length });
    await stub.waitForDispatch(id);
    const listing = await hubCall(`/api/flist/me/uploads/${id}`, { headers: await asUser("archiver") });
    expect(listing.body.payload).toMatchObject({ status: "completed" });
  },
});

let release = 0;
runResumableSuite({
  name: "image files",
  base: "/api/images/uploads",
  table: "image_uploads",
  owner: "imager",
  intruder: "image-intruder",
  // A release of its own per upload: every test stores a new image file.
  createBody: (size, partSize) => ({ os: "suite", release: `r${++release}`, arch: "amd64", version: "20260401_09:00", file: "disk.qcow2", size, partSize }),
  order: "sequential",
  notFound: "no such upload",
  what: "file",
  oversizedPart: 400,
  afterAbort: 404,
  abortAnswer: (id) => ({ id, aborted: true }),
  swept: false,
  completeQuery: "",
  completeStatus: 200,
  async resumeFrom(id, lost, count) {
    // No status route: a later part is refused with the one the hub expects next.
    expect(lost).toBeLessThan(count);
    const res = await hubCall(`/api/images/uploads/${id}/${count}`, {
      method: "PUT",
      headers: await asUser("imager", { "Content-Length": "1" }),
      body: "x",
    });
    expect(res.status).toBe(409);
    const next = /the next one is (\d+)$/.exec(res.body.message as string);
    expect(next).not.toBeNull();
    return Number(next![1]);
  },
  async verify(id, answer, bytes) {
    const item = answer.payload as { product: string; version: string; name: string; sha256: string; size: number };
    expect(item).toMatchObject({ name: "disk.qcow2", sha256: await sha256(bytes), size: bytes.length });
    const served = await fetchHub(`/images/${item.product.split(":").join("/")}/${item.version}/${item.name}`);
    expect(served.status).toBe(200);
    expect(await sha256(await served.arrayBuffer())).toBe(await sha256(bytes));
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM image_uploads WHERE id = ?1").bind(id).first("n")).toBe(0);
  },
});
