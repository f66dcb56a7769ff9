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
