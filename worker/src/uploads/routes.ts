/**
 * Publishing routes under `/api/flist/me` (docs/compatibility.md §3.4, §6): `upload` (tar.gz, multipart form),
 * `upload-flist` (homemade .flist), `merge/<target>`, and the streamed raw upload `PUT upload/<filename>` for
 * archives too large for a form. The resumable protocol lives in resumable.ts. Every route stages its input, starts
 * a job (jobs/start.ts) and answers when it ends, or at once with 202 when asked to.
 *
 * Validation messages are the original's ("no file found", "this file is not allowed", "malformed json request",
 * …) but with 4xx statuses instead of its 500s: they are the caller's errors (docs/compatibility.md §6.6). A refused
 * file name also names the accepted format, and what the file is when its bytes are at hand (file-check.ts).
 */
import { Hono, type Context } from "hono";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { uploadConfig } from "../jobs/config";
import { MAX_FLIST_BYTES } from "../catalog/publish";
import { contentLength, filePart, pairs, readForm } from "./form";
import { startJob } from "../jobs/start";
import { answerUpload } from "./jobs";
import { checkArchiveBytes, notAllowedArchive, notAllowedArchiveName, notAllowedFlist } from "./file-check";
import { catalogStore } from "../catalog/store/d1-r2";
import { MAX_MERGE_BODY, mergeTarget, parseSources, resolveSources } from "./merge";
import { ARCHIVE_SUFFIX, FLIST_UPLOAD_SUFFIX, metadataFields, uploadTargetName } from "./naming";
import { resumableRoutes } from "./resumable";
import { startStreamedJob } from "./streamed";

export const uploads = new Hono<AppEnv>();

uploads.post("/upload", requireActor(), async (c) => {
  const form = await readForm(c);
  const file = await filePart(form, ARCHIVE_SUFFIX, notAllowedArchive);
  const name = uploadTargetName("tar", file.name, c.req.header("X-Original-Name"));
  const metadata = metadataFields(pairs(form));
  if (file.size === 0) throw new HubError(400, "empty archive");
  await checkArchiveBytes(file);
  const job = await startJob(c.env, c.var.actor, {
    kind: "tar",
    name,
    params: { metadata },
    input: { body: file, size: file.size },
  });
  return answerUpload(c, job);
});

uploads.post("/upload-flist", requireActor(), async (c) => {
  const form = await readForm(c);
  const file = await filePart(form, FLIST_UPLOAD_SUFFIX, notAllowedFlist);
  const name = uploadTargetName("flist", file.name, c.req.header("X-Original-Name"));
  if (file.size === 0) throw new HubError(400, "empty flist");
  if (file.size > MAX_FLIST_BYTES) throw new HubError(413, `flist larger than ${MAX_FLIST_BYTES} bytes`);
  const job = await startJob(c.env, c.var.actor, {
    kind: "flist",
    name,
    params: {},
    input: { body: file, size: file.size },
  });
  return answerUpload(c, job);
});

// Streamed raw upload: the body goes straight to R2 (known length), never parsed or buffered by the Worker, and
// at the same time to the converter, which converts it while it arrives (streamed.ts).
uploads.put("/upload/:filename", requireActor(), async (c) => {
  const filename = c.req.param("filename");
  // The body is not read to describe it: a refused request's body is drained, not sniffed (http/drain.ts).
  if (!filename.endsWith(ARCHIVE_SUFFIX)) throw notAllowedArchiveName(filename);
  const name = uploadTargetName("tar", filename, c.req.header("X-Original-Name"));
  const size = contentLength(c);
  const cap = uploadConfig.streamedMaxBytes(c.env);
  if (size > cap) {
    throw new HubError(413, `archive larger than ${cap} bytes: use the resumable protocol POST /api/flist/me/uploads`);
  }
  if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty archive");
  const metadata = metadataFields(pairs(new URL(c.req.url).searchParams));
  const job = await startStreamedJob(c.env, c.var.actor, { name, params: { metadata }, body: c.req.raw.body, size });
  return answerUpload(c, job);
});

async function mergeRoute(c: Context<AppEnv>, target: string | undefined): Promise<Response> {
  const tooLarge = () => new HubError(413, `merge request larger than ${MAX_MERGE_BODY} bytes`);
  if (Number(c.req.header("Content-Length") ?? "0") > MAX_MERGE_BODY) throw tooLarge();
  const text = await c.req.text();
  if (text.length > MAX_MERGE_BODY) throw tooLarge();
  // The original's order: the sources first, then the target.
  const sources = await resolveSources(catalogStore(c.env), parseSources(text));
  const name = mergeTarget(target);
  const job = await startJob(c.env, c.var.actor, { kind: "merge", name, params: { sources } });
  return answerUpload(c, job);
}

uploads.post("/merge/:target", requireActor(), (c) => mergeRoute(c, c.req.param("target")));
uploads.post("/merge", requireActor(), (c) => mergeRoute(c, undefined));

uploads.route("/uploads", resumableRoutes({ guard: requireActor(), base: "/api/flist/me/uploads", answer: answerUpload }));
