/**
 * URL parameters validated with zod at the edge: a bad name is a 400 naming the parameter, before any
 * storage is touched.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { checked } from "./validate";

export function param<S extends z.ZodType<unknown, string>>(c: Context, name: string, schema: S): z.output<S> {
  // Hono decodes %XX in parameters, so `%2F` arrives as `/` and is refused like a literal one.
  return checked(schema, c.req.param(name) ?? "", name);
}
