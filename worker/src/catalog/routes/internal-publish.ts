/**
 * `PUT /internal/publish/<repo>/<name>`: the converter (and operators, and tests) publish a finished flist.
 * Authenticated with `Authorization: Bearer <INTERNAL_SECRET>`. Body: multipart/form-data with
 *   - `flist`: the .flist file bytes;
 *   - `info`:  JSON `{"jobId"?: string, "contents": <zflist find response>, "metadata": {key: value}}`.
 * Answers `{"status":"success","payload":{repository,name,sha256,md5,size}}`. See docs/catalog-api.md "Internal publish route".
 */
import { Hono } from "hono";
import { requireInternal } from "../../auth/internal";
import type { AppEnv } from "../../env";
import { flistNameSchema, repositorySchema } from "../../names";
import { HubError } from "../../http/errors";
import { param } from "../../http/params";
import { ok } from "../../http/respond";
import { MAX_FLIST_BYTES, publishFlist, publishInfoSchema } from "../publish";
import { checked } from "../../http/validate";

export const internalPublish = new Hono<AppEnv>();

internalPublish.put("/internal/publish/:repo/:name", requireInternal(), async (c) => {
  const repository = param(c, "repo", repositorySchema);
  const name = param(c, "name", flistNameSchema);

  // Refuse oversized bodies before parsing them (multipart parsing holds the parts in memory).
  const declared = Number(c.req.header("Content-Length") ?? "0");
  // The allowance above the flist cap is for the `info` part (contents listing) and multipart framing.
  if (declared > MAX_FLIST_BYTES + 16 * 1024 * 1024) throw new HubError(413, "request body too large");
  if (!(c.req.header("Content-Type") ?? "").toLowerCase().startsWith("multipart/form-data")) {
    throw new HubError(415, "expected multipart/form-data with parts `flist` and `info`");
  }

  let form: FormData;
  try {
    form = await c.req.raw.formData();
  } catch {
    throw new HubError(400, "malformed multipart body");
  }
  const file = form.get("flist");
  const infoPart = form.get("info");
  if (!(file instanceof File)) throw new HubError(400, "missing part `flist` (the .flist file)");
  if (infoPart === null) throw new HubError(400, "missing part `info` (JSON)");

  let infoJson: unknown;
  try {
    infoJson = JSON.parse(typeof infoPart === "string" ? infoPart : await infoPart.text());
  } catch {
    throw new HubError(400, "part `info` is not valid JSON");
  }
  const info = checked(publishInfoSchema, infoJson, { what: "info", root: "(root)" });
  return ok(c, await publishFlist(c.env, { repository, name, file, info }));
});
