/**
 * Bounds on the job messages the converter reports (progress text, failure reasons). A report over the bound is
 * truncated, never refused: a refused failure report would leave the job running until its lease expired, then
 * retried, and the user would read "the converter stopped reporting" instead of the reason.
 */

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
