/** The JSON answers of `GET /health` (routes.ts, checks.ts), for docs/openapi.md. */
import { z } from "zod";

const checkSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const checksSchema = z.object({ d1: checkSchema, r2: checkSchema, converter: checkSchema });

export const healthUpSchema = z.object({ status: z.literal("ok"), checks: checksSchema });
export const healthDownSchema = z.object({ status: z.literal("error"), message: z.string(), checks: checksSchema });
