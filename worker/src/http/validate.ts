/**
 * The one answer to input that fails its zod schema: a 400 HubError (the JSON error envelope, http/errors.ts) naming
 * what was invalid, where, and zod's first issue. Every edge (URL parameters, query strings, JSON bodies, form
 * fields, files inside uploads) goes through here, so the message shape is the same everywhere.
 *
 * Not hono/validator: its `json` target skips bodies whose Content-Type is not JSON and its `query` target turns
 * repeated keys into arrays, both of which would change what the routes accept today.
 */
import type { z } from "zod";
import { HubError } from "./errors";

/** `invalid <what>: <message>`, or with `root`: `invalid <what>: <path of the issue, or root>: <message>`. */
export function invalidInput(error: z.ZodError, what: string, root?: string): HubError {
  const issue = error.issues[0];
  const at = root === undefined ? "" : `${issue?.path.join(".") || root}: `;
  return new HubError(400, `invalid ${what}: ${at}${issue?.message ?? "bad value"}`);
}

/** `invalid <path of the issue, or fallback>: <message>`: for objects whose fields are the things named. */
export function invalidField(error: z.ZodError, fallback: string): HubError {
  const issue = error.issues[0];
  return new HubError(400, `invalid ${issue?.path.join(".") || fallback}: ${issue?.message ?? "bad value"}`);
}

/** `value` parsed by `schema`, or the 400 of invalidInput. */
export function checked<S extends z.ZodType>(schema: S, value: unknown, what: string, root?: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(parsed.error, what, root);
  return parsed.data;
}
