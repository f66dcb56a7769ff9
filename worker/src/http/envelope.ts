/**
 * The API envelope of http/respond.ts as zod schemas, for the response schemas next to the routes and the OpenAPI
 * document built from them (docs/openapi.md).
 */
import { z } from "zod";

/** `{"status":"error","message":…}`: every API error (http/errors.ts, http/respond.ts `fail`). */
export const errorSchema = z.object({ status: z.literal("error"), message: z.string() });

/** `{"status":"success"}` without a payload. */
export const successSchema = z.object({ status: z.literal("success") });

/** `{"status":"success","payload":…}` (http/respond.ts `ok`). */
export function okSchema<T extends z.ZodType>(payload: T) {
  return z.object({ status: z.literal("success"), payload });
}

/**
 * Compile-time agreement of a handler's answer type and a response schema's inferred type, next to the schema:
 * `export type XMatchesSchema = Assert<Same<X, z.infer<typeof xSchema>>>` fails to compile once they differ.
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type Assert<T extends true> = T;
