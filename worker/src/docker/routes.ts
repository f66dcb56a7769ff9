/**
 * `POST /api/flist/me/docker` (docs/compatibility.md §3.4, §6): converts a registry image into a flist of the
 * acting repository. Body: the original's form field `image` (multipart or urlencoded, plus the optional fields
 * below), or JSON `{image, platform?, startupToml?, username?, password?, token?}`. Synchronous by default (the
 * answer is `{"status":"success","payload":{"name":"<name>.flist","files":{regular,…}}}`); `?async=1` or
 * `Prefer: respond-async` answers 202 with the job's URLs. A failed conversion answers the converter's status
 * (404 unknown image or tag, 401 wrong credentials, 502 registry trouble, …) with its message.
 */
import { Hono, type Context } from "hono";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { answerJob } from "../jobs/start";
import { formToRequest } from "./request";
import { startDockerJob } from "./service";

export const dockerRoutes = new Hono<AppEnv>();

/** Docker requests are a few fields: anything larger is not one. */
const MAX_BODY = 64 * 1024;

async function readRequest(c: Context<AppEnv>): Promise<unknown> {
  if (Number(c.req.header("Content-Length") ?? "0") > MAX_BODY) throw new HubError(413, "request body too large");
  const type = (c.req.header("Content-Type") ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    const text = await c.req.text();
    if (text.length > MAX_BODY) throw new HubError(413, "request body too large");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HubError(400, "malformed json request");
    }
  }
  if (type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")) {
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      throw new HubError(400, "malformed form body");
    }
    return formToRequest(form);
  }
  // The original read `request.form["image"]`: no form at all means no image.
  throw new HubError(400, "missing docker image name");
}

dockerRoutes.post("/docker", requireActor(), async (c) => {
  const job = await startDockerJob(c.env, c.var.actor, await readRequest(c));
  return answerJob(c, job);
});
