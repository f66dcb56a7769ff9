/**
 * The one answer to input that fails its zod schema: a 400 HubError (the JSON error envelope, http/errors.ts) with
 * zod's first issue. Every edge (URL parameters, query strings, JSON bodies, form fields, files inside uploads)
 * goes through here; the shapes below are the messages those edges have always answered (clients and tests
 * match them).
 *
 * Not hono/validator: its `json` target skips bodies whose Content-Type is not JSON and its `query` target turns
 * repeated keys into arrays, both of which would change what the routes accept today.
 */
import type { z } from "zod";
import { HubError } from "./errors";

export type Refusal =
  /** `invalid <what>: <message>`, or with `root`: `invalid <what>: <path of the issue, or root>: <message>`. */
  | { what: string; root?: string }
  /** `invalid <path of the issue, or field>: <message>`: for objects whose fields are the things named. */
  | { field: string }
  /** `<prefix>: <message>`. */
  | { prefix: string }
  /** zod's message alone. */
  | "message";

export function invalidInput(error: z.ZodError, refusal: Refusal | string): HubError {
  const issue = error.issues[0];
  const message = issue?.message ?? "bad value";
  const path = issue?.path.join(".") ?? "";
  const r = typeof refusal === "string" && refusal !== "message" ? { what: refusal } : refusal;
  if (r === "message") return new HubError(400, message);
  if ("field" in r) return new HubError(400, `invalid ${path || r.field}: ${message}`);
  if ("prefix" in r) return new HubError(400, `${r.prefix}: ${message}`);
  return new HubError(400, `invalid ${r.what}: ${r.root === undefined ? "" : `${path || r.root}: `}${message}`);
}

/** `value` parsed by `schema`, or the 400 of invalidInput (a string `refusal` is the `what`). */
export function checked<S extends z.ZodType>(schema: S, value: unknown, refusal: Refusal | string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(parsed.error, refusal);
  return parsed.data;
}
