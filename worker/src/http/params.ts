/**
 * URL parameters validated with zod at the edge: a bad name is a 400 naming the parameter, before any
 * storage is touched.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { HubError } from "./errors";

export function param<S extends z.ZodType<unknown, string>>(c: Context, name: string, schema: S): z.output<S> {
  // Hono decodes %XX in parameters, so `%2F` arrives as `/` and is refused like a literal one.
  const parsed = schema.safeParse(c.req.param(name) ?? "");
  if (!parsed.success) throw new HubError(400, `invalid ${name}: ${parsed.error.issues[0]?.message ?? "bad value"}`);
  return parsed.data;
}
