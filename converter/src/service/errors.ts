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
}

export function failureMessage(err: unknown): { message: string; expected: boolean } {
  if (err instanceof JobFailure) return { message: err.message, expected: true };
  if (err instanceof IngestError) return { message: `invalid archive: ${err.message}`, expected: true };
  if (err instanceof FlistFormatError) return { message: `invalid flist: ${err.message}`, expected: true };
  if (err instanceof FlistTreeError) return { message: `cannot write the flist: ${err.message}`, expected: true };
  // "chunk store <redacted url>: <reason>": the URL is already redacted by the store.
  if (err instanceof StoreError) return { message: err.message, expected: true };
  if (err instanceof HubError) return { message: err.message, expected: true };
  const text = err instanceof Error ? err.message : String(err);
  return { message: `internal error: ${text}`, expected: false };
}

/** Replaces every occurrence of the given secrets (store password, internal secret) with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
