/**
 * Publishing routes under `/api/flist/me` (hub-api.md §5.3, DESIGN.md §3): `upload` (tar.gz, multipart form),
 * `upload-flist` (homemade .flist), `merge/<target>`, and the streamed raw upload `PUT upload/<filename>` for
 * archives too large for a form. The resumable protocol lives in resumable.ts. Every route stages its input, starts
 * a job (jobs.ts) and answers when it ends, or at once with 202 when asked to.
 *
 * Validation messages are the original's ("no file found", "this file is not allowed", "malformed json request",
 * …) but with 4xx statuses instead of its 500s: they are the caller's errors (DESIGN.md §4).
 */
import { Hono, type Context } from "hono";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { FLIST_SUFFIX, nameProblem, stripFlist } from "../catalog/names";
import { HubError } from "../http/errors";
import { R2_SINGLE_PUT_MAX_BYTES, uploadConfig } from "../jobs/config";
import { followChain } from "../storage/catalog-reads";
import { MAX_FLIST_BYTES } from "../services/publish";
import { answerJob, startJob } from "./jobs";
import { ARCHIVE_SUFFIX, FLIST_UPLOAD_SUFFIX, metadataFields, uploadTargetName } from "./naming";
import { resumable } from "./resumable";

export const uploads = new Hono<AppEnv>();

const STREAMED_HINT =
  "use PUT /api/flist/me/upload/<name>.tar.gz (streamed body) or the resumable protocol POST /api/flist/me/uploads";

/** Declared body length; a missing one is refused (411) where the body must not be read blindly. */
function contentLength(c: Context): number {
  const raw = c.req.header("Content-Length");
  if (raw === undefined || !/^\d{1,16}$/.test(raw.trim())) throw new HubError(411, "Content-Length required");
  return Number(raw.trim());
}

/**
 * Parses the multipart form within the cap: `formData()` holds the parts in memory, so large archives must use
 * the streamed routes. A declared Content-Length over the cap is refused before reading; a body without one
 * (chunked) is counted while it is read and refused as soon as it passes the cap.
 */
async function readForm(c: Context<AppEnv>): Promise<FormData> {
  const cap = uploadConfig.formMaxBytes(c.env);
  const tooLarge = () => new HubError(413, `request body larger than ${cap} bytes: ${STREAMED_HINT}`);
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && Number(declared) > cap) throw tooLarge();
  const type = c.req.header("Content-Type") ?? "";
  const body = c.req.raw.body;
  if (!type.toLowerCase().startsWith("multipart/form-data") || !body) throw new HubError(400, "no file found");
  let seen = 0;
  let overflow = false;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > cap) {
          overflow = true;
          controller.error(new Error("body over the cap"));
        } else controller.enqueue(chunk);
      },
    }),
  );
  try {
    return await new Response(counted, { headers: { "Content-Type": type } }).formData();
  } catch {
    if (overflow) throw tooLarge();
    throw new HubError(400, "malformed multipart body");
  }
}

/** Key/value pairs of a form or query (the tsconfig's WebWorker lib types them without iterators). */
function pairs(source: FormData | URLSearchParams): [string, unknown][] {
  const out: [string, unknown][] = [];
  source.forEach((value: FormDataEntryValue, key: string) => out.push([key, value]));
  return out;
}

/** The `file` part, checked in the original's order. */
function filePart(form: FormData, suffix: string): File {
  const file = form.get("file");
  // workerd parses a part with `filename=""` (a browser's empty file input) as an empty text value.
  if (file === "" || (file instanceof File && file.name === "")) throw new HubError(400, "no file selected");
  if (!(file instanceof File)) throw new HubError(400, "no file found");
  if (!file.name.endsWith(suffix)) throw new HubError(400, "this file is not allowed");
  return file;
}

uploads.post("/upload", requireActor(), async (c) => {
  const form = await readForm(c);
  const file = filePart(form, ARCHIVE_SUFFIX);
  const name = uploadTargetName("tar", file.name, c.req.header("X-Original-Name"));
  const metadata = metadataFields(pairs(form));
  if (file.size === 0) throw new HubError(400, "empty archive");
  const job = await startJob(c.env, c.var.actor, {
    kind: "tar",
    name,
    params: { metadata },
    input: { body: file, size: file.size },
  });
  return answerJob(c, job);
});

uploads.post("/upload-flist", requireActor(), async (c) => {
  const form = await readForm(c);
  const file = filePart(form, FLIST_UPLOAD_SUFFIX);
  const name = uploadTargetName("flist", file.name, c.req.header("X-Original-Name"));
  if (file.size === 0) throw new HubError(400, "empty flist");
  if (file.size > MAX_FLIST_BYTES) throw new HubError(413, `flist larger than ${MAX_FLIST_BYTES} bytes`);
  const job = await startJob(c.env, c.var.actor, {
    kind: "flist",
    name,
    params: {},
    input: { body: file, size: file.size },
  });
  return answerJob(c, job);
});

// Streamed raw upload: the body goes straight to R2 (known length), never parsed or buffered by the Worker.
uploads.put("/upload/:filename", requireActor(), async (c) => {
  const filename = c.req.param("filename");
  if (!filename.endsWith(ARCHIVE_SUFFIX)) throw new HubError(400, "this file is not allowed");
  const name = uploadTargetName("tar", filename, c.req.header("X-Original-Name"));
  const size = contentLength(c);
  const cap = Math.min(uploadConfig.maxBytes(c.env), R2_SINGLE_PUT_MAX_BYTES);
  if (size > cap) {
    throw new HubError(413, `archive larger than ${cap} bytes: use the resumable protocol POST /api/flist/me/uploads`);
  }
  if (size === 0 || !c.req.raw.body) throw new HubError(400, "empty archive");
  const metadata = metadataFields(pairs(new URL(c.req.url).searchParams));
  const job = await startJob(c.env, c.var.actor, {
    kind: "tar",
    name,
    params: { metadata },
    input: { body: c.req.raw.body, size },
  });
  return answerJob(c, job);
});

const MAX_MERGE_BODY = 64 * 1024;
const MAX_MERGE_SOURCES = 64;

async function mergeRoute(c: Context<AppEnv>, target: string | undefined): Promise<Response> {
  // The original parsed with get_json(force=True, silent=True): any Content-Type, bad JSON = not a list.
  const text = await c.req.text();
  if (text.length > MAX_MERGE_BODY) throw new HubError(413, "merge request too large");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!Array.isArray(data)) throw new HubError(400, "malformed json request");
  if (data.length === 0) throw new HubError(400, "no source found");
  if (data.length > MAX_MERGE_SOURCES) throw new HubError(400, `too many sources (at most ${MAX_MERGE_SOURCES})`);

  const sources: { repository: string; name: string; sha256: string }[] = [];
  for (const source of data) {
    if (typeof source !== "string" || !source.includes("/")) throw new HubError(400, "malformed source filename");
    const [repository = "", rawName = ""] = source.split("/");
    const name = stripFlist(rawName) + FLIST_SUFFIX;
    const shown = `${repository}/${stripFlist(rawName)}${FLIST_SUFFIX}`;
    const valid = !nameProblem(repository) && !nameProblem(rawName) && name !== FLIST_SUFFIX;
    // A source is pinned to the bytes it has now: the merge reads exactly what was asked for.
    const chain = valid ? await followChain(c.env.DB, repository, name) : null;
    if (!chain?.blob) throw new HubError(404, `${shown} does not exists`);
    sources.push({ repository, name, sha256: chain.blob.sha256 });
  }

  if (!target) throw new HubError(400, "missing build (target) name");
  if (target.includes("/")) throw new HubError(400, "build name not allowed");
  const problem = nameProblem(target);
  if (problem) throw new HubError(400, `invalid target: ${problem}`);
  const name = target.endsWith(FLIST_SUFFIX) ? target : target + FLIST_SUFFIX;
  if (name === FLIST_SUFFIX || nameProblem(name)) throw new HubError(400, "invalid target: bad name");

  const job = await startJob(c.env, c.var.actor, { kind: "merge", name, params: { sources } });
  return answerJob(c, job);
}

uploads.post("/merge/:target", requireActor(), (c) => mergeRoute(c, c.req.param("target")));
uploads.post("/merge", requireActor(), (c) => mergeRoute(c, undefined));

uploads.route("/uploads", resumable);
