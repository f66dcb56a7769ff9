/**
 * What the converter reports about a job to the Worker (docs/jobs-protocol.md "Worker internal endpoints"):
 * `POST /internal/jobs/<id>/events` and `POST /internal/jobs/<id>/fail` bodies. The Worker parses them with these
 * schemas (worker/src/jobs/internal-routes.ts), the converter builds their `z.input` (converter/src/service/hub.ts).
 *
 * A report over its bound is truncated, never refused: a refused failure report would leave the job running until
 * its lease expired, then retried, and the user would read "the converter stopped reporting" instead of the reason.
 */
import { z } from "zod";

/** Characters kept of a failure reason (what `GET /api/jobs/<id>` and the final `error` event show). */
export const FAIL_MESSAGE_MAX = 4000;
/** Characters kept of a progress message. */
export const EVENT_MESSAGE_MAX = 1000;

/** `text` cut to at most `max` characters, ending with `… (<n> characters)` when it was longer. */
export function clampMessage(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… (${text.length} characters)`;
  let cut = Math.max(0, max - note.length);
  // Never split a surrogate pair.
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}${note}`;
}

const attempt = z.number().int().positive();

/** One progress event (docs/compatibility.md §5.5 `update` shape). */
export const progressEventSchema = z.object({
  status: z.literal("update"),
  message: z.string().transform((m) => clampMessage(m, EVENT_MESSAGE_MAX)),
  progress: z.number().min(0).max(100),
});
export type ProgressEvent = z.input<typeof progressEventSchema>;

export const eventsBodySchema = z.object({
  attempt,
  // No event = a heartbeat: the lease is renewed, nothing is appended to the log.
  event: progressEventSchema.optional(),
});
export type EventsBody = z.input<typeof eventsBodySchema>;

/** The answer of an events call: the renewed lease's end (unix seconds), in the hub's `payload` envelope. */
export interface EventsAnswer {
  lease_until: number;
}

export const failBodySchema = z.object({
  attempt,
  message: z
    .string()
    .min(1)
    .transform((m) => clampMessage(m, FAIL_MESSAGE_MAX)),
  /** What a synchronous request waiting on the job answers (default 422: the input could not be converted). */
  status: z.number().int().min(400).max(599).optional(),
});
export type FailBody = z.input<typeof failBodySchema>;
