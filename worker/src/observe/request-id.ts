/**
 * A request's id (docs/operations.md "Logs"): the caller's `x-request-id` when it is a valid one (the converter's
 * reports carry the id of the request that started their job, protocol/logging.ts), else Cloudflare's `cf-ray`,
 * else a fresh one.
 */
import { isRequestId, REQUEST_ID_HEADER } from "../../../protocol/logging";

export function requestIdOf(headers: Headers): string {
  const given = headers.get(REQUEST_ID_HEADER);
  if (given !== null && isRequestId(given)) return given;
  const ray = headers.get("cf-ray");
  if (ray !== null && isRequestId(ray)) return ray;
  return crypto.randomUUID();
}
