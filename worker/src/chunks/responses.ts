/** Response schemas of the chunk routes (chunks/routes.ts), for docs/openapi.md. */
import { z } from "zod";
import { okSchema } from "../http/envelope";

export const missingSchema = okSchema(z.object({ missing: z.array(z.string()).describe("the hashes the store lacks") }));
export const chunkStoredSchema = okSchema(z.object({ hash: z.string(), size: z.number().int() }));
