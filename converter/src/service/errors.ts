/**
 * What a failed job tells its user (`POST /internal/jobs/<id>/fail`, then the `error` event): one clear line
 * per kind of failure, never a stack trace, never a secret.
 */
import { FlistFormatError, FlistTreeError } from "../flist/index.ts";
import { IngestError } from "../ingest/index.ts";
import { StoreError } from "../store/index.ts";
import { HubError } from "./hub.ts";

/** A failure whose message is already what the user must read (e.g. the original hub's exact wording). */
export class JobFailure extends Error {
  override name = "JobFailure";
  /** `status`: what a request waiting on the job answers (docker: 404 unknown image, 401 …); default 422. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface Failure {
  message: string;
  /** What a request waiting on the job answers; undefined = the Worker's default (422, bad input). */
  status?: number;
  /** False for bugs: their stack is logged. */
  expected: boolean;
}

export function failureMessage(err: unknown): Failure {
  if (err instanceof JobFailure) return { message: err.message, ...(err.status !== undefined ? { status: err.status } : {}), expected: true };
  if (err instanceof IngestError) return { message: `invalid archive: ${err.message}`, expected: true };
  if (err instanceof FlistFormatError) return { message: `invalid flist: ${err.message}`, expected: true };
  if (err instanceof FlistTreeError) return { message: `cannot write the flist: ${err.message}`, expected: true };
  // "chunk store <redacted url>: <reason>": the URL is already redacted by the store. Not the user's fault.
  if (err instanceof StoreError) return { message: err.message, status: 503, expected: true };
  // The hub refusing our result (e.g. 413: the flist is over its publish cap) is about the input; the hub
  // failing (5xx, unreachable, broken stream) is not.
  if (err instanceof HubError) {
    const refused = err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 404;
    return { message: err.message, ...(refused ? {} : { status: 502 }), expected: true };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { message: `internal error: ${text}`, status: 500, expected: false };
}

/**
 * Characters of a failure message sent to the hub. The hub keeps up to 4,000 and truncates beyond; bounding here too
 * keeps the reason readable (names inside messages are already shortened by ingest's `quoteName`).
 */
export const FAILURE_MESSAGE_MAX = 1000;

/** One line of at most `max` characters, ending with `…` when cut. Apply after `scrub`, so no secret is half cut. */
export function boundMessage(text: string, max = FAILURE_MESSAGE_MAX): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, " ");
  if (line.length <= max) return line;
  let cut = max - 1;
  const last = line.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${line.slice(0, cut)}…`;
}

/** Replaces every occurrence of the given secrets (store password, internal secret) with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
