/**
 * Reading upload requests: the declared length, the multipart form within its cap, and the `file` part checked
 * in the original's order. The form is the only place an upload is held in memory, hence the cap.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { drainReader } from "../http/drain";
import { HubError } from "../http/errors";
import { uploadConfig } from "../jobs/config";

export const STREAMED_HINT =
  "use PUT /api/flist/me/upload/<name>.tar.gz (streamed body) or the resumable protocol POST /api/flist/me/uploads";

/** Declared body length; a missing one is refused (411) where the body must not be read blindly. */
export function contentLength(c: Context): number {
  const raw = c.req.header("Content-Length");
  if (raw === undefined || !/^\d{1,16}$/.test(raw.trim())) throw new HubError(411, "Content-Length required");
  return Number(raw.trim());
}

/**
 * Parses the multipart form within the cap: `formData()` holds the parts in memory, so large archives must use
 * the streamed routes. A declared Content-Length over the cap is refused before reading (the app's drainRefused
 * reads the body before the 413 goes out); a body without one (chunked) is counted while it is read and refused
 * once it passes the cap, after the rest of it was drained here, so the client sees the 413 (http/drain.ts).
 */
export async function readForm(c: Context<AppEnv>): Promise<FormData> {
  const cap = uploadConfig.formMaxBytes(c.env);
  const tooLarge = () => new HubError(413, `request body larger than ${cap} bytes: ${STREAMED_HINT}`);
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && Number(declared) > cap) throw tooLarge();
  const type = c.req.header("Content-Type") ?? "";
  const body = c.req.raw.body;
  if (!type.toLowerCase().startsWith("multipart/form-data") || !body) throw new HubError(400, "no file found");
  const reader = body.getReader();
  let seen = 0;
  let overflow = false;
  // Pulled by formData() one chunk at a time; its cancel is not passed on, so what it leaves unread is drained.
  const counted = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > cap) {
        overflow = true;
        controller.error(new Error("body over the cap"));
      } else controller.enqueue(value);
    },
  });
  try {
    return await new Response(counted, { headers: { "Content-Type": type } }).formData();
  } catch {
    await drainReader(reader);
    if (overflow) throw tooLarge();
    throw new HubError(400, "malformed multipart body");
  }
}

/** Key/value pairs of a form or query (the tsconfig's WebWorker lib types them without iterators). */
export function pairs(source: FormData | URLSearchParams): [string, unknown][] {
  const out: [string, unknown][] = [];
  source.forEach((value: FormDataEntryValue, key: string) => out.push([key, value]));
  return out;
}

/**
 * The `file` part, checked in the original's order; `refuse` answers the error for a name without `suffix` (the
 * archive route's says what the file is: uploads/file-check.ts).
 */
export async function filePart(form: FormData, suffix: string, refuse: (name: string, file: File) => Promise<HubError>): Promise<File> {
  const file = form.get("file");
  // workerd parses a part with `filename=""` (a browser's empty file input) as an empty text value.
  if (file === "" || (file instanceof File && file.name === "")) throw new HubError(400, "no file selected");
  if (!(file instanceof File)) throw new HubError(400, "no file found");
  if (!file.name.endsWith(suffix)) throw await refuse(file.name, file);
  return file;
}
