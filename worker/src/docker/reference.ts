/**
 * Image references on the Worker's side: just enough to refuse a malformed one with a clear 400 before a job is
 * created, and to know the flist name the job publishes (the Worker answers with it and the publish is checked
 * against it). The converter parses the reference fully (converter/src/oci/reference.ts, with the same grammar,
 * protocol/image-reference.ts) and stays the authority on what the registry is asked for.
 */
import { dockerFlistName as flistNameOf } from "../../../protocol/docker-name";
import { splitReference } from "../../../protocol/image-reference";
import { flistName as catalogFlistName } from "../names";
import { HubError } from "../http/errors";

function invalid(input: string, why: string): never {
  const shown = input.replace(/[^\x20-\x7e]/g, "?").slice(0, 300);
  throw new HubError(400, `invalid image reference '${shown}': ${why}`);
}

/**
 * Throws a 400 unless `input` is an image reference the converter can parse (`ubuntu`, `ghcr.io/o/a:v1`, `a@sha256:…`):
 * the grammar both use, protocol/image-reference.ts. An input that may hold a password is never quoted.
 */
export function checkReference(input: string): void {
  const split = splitReference(input);
  if (!("problem" in split)) return;
  if (!split.quoteInput) throw new HubError(400, `invalid image reference: ${split.problem}`);
  invalid(input, split.problem);
}

/**
 * The original hub's docker flist name (protocol/docker-name.ts, the converter's too), which must also pass the name
 * rule (a clear 400 otherwise, e.g. over 255 bytes).
 */
export function dockerFlistName(input: string): string {
  return catalogFlistName(flistNameOf(input), "image name");
}
