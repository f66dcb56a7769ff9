/**
 * Download counting, producer side (docs/catalog-api.md "Download counts"): a whole download sends one small
 * message to the DOWNLOADS queue after the answer is on its way (waitUntil), so a download never waits for it and
 * never writes to D1; counts/consume.ts adds them up in batches. Downloads answered from the edge cache are counted
 * too: the Worker runs before every cache lookup.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { FRONT_REVALIDATION_HEADER } from "../../../protocol/front-revalidation";
import { isInternalSecret } from "../auth/internal";

/** One download of the flist entry `repository/name` (the regular entry a name resolved to). */
export type DownloadMessage = Parameters<AppEnv["Bindings"]["DOWNLOADS"]["send"]>[0];

export function countDownload(c: Context<AppEnv>, repository: string, name: string): void {
  const message: DownloadMessage = { repository, name };
  const sent = c.env.DOWNLOADS.send(message).catch((err: unknown) => {
    // A lost count is no reason to fail a download that was already served.
    console.error(`downloads: could not count ${repository}/${name}: ${String(err)}`);
  });
  try {
    c.executionCtx.waitUntil(sent);
  } catch {
    // No execution context (app.request in unit code): the send runs on its own.
  }
}

/**
 * Whether an answer of status `status` to a GET is a whole download: a 200, or a 304 to the local front's
 * revalidation (protocol/front-revalidation.ts), after which the front sends the body it kept. A client's own
 * conditional GET answered 304 downloads nothing.
 */
export async function isWholeDownload(c: Context<AppEnv>, status: number): Promise<boolean> {
  if (c.req.method !== "GET") return false;
  if (status === 200) return true;
  const presented = c.req.header(FRONT_REVALIDATION_HEADER);
  return status === 304 && presented !== undefined && (await isInternalSecret(presented, c.env.INTERNAL_SECRET));
}
