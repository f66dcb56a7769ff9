/**
 * One hook per route for a JSON body: read (bounded), parsed, checked with a zod schema, then handed to the
 * handler as `c.req.valid("json")`, typed by the schema, as hono/validator does. A body that is too large
 * answers 413, one that is not JSON or breaks the schema answers 400 with the route's own message.
 *
 * hono/validator's `json` target itself is not used: it reads only bodies labelled `application/json`, and reads
 * them whole, while the converter's routes take any Content-Type (docs/jobs-protocol.md) and bound every body.
 */
import type { MiddlewareHandler } from "hono";
import type { ZodType, z } from "zod";
import { HttpError, type ServiceEnv, readJson } from "./http.ts";

export type Issue = z.core.$ZodIssue | undefined;

export function jsonBody<S extends ZodType>(
  schema: S,
  limit: number,
  invalid: (issue: Issue) => string,
): MiddlewareHandler<ServiceEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return async (c, next) => {
    const parsed = schema.safeParse(await readJson(c, limit));
    if (!parsed.success) throw new HttpError(400, invalid(parsed.error.issues[0]));
    c.req.addValidatedData("json", parsed.data as object);
    await next();
  };
}
