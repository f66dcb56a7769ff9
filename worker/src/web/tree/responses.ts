/** The JSON answers of `GET /api/flist/<repo>/<name>/tree` (routes.ts), for docs/openapi.md. */
import { z } from "zod";

export const treeAnswerSchema = z.union([
  z.object({
    path: z.string(),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    entries: z.array(
      z.object({
        name: z.string(),
        path: z.string(),
        type: z.enum(["directory", "file"]),
        size: z.number().int(),
        children: z.number().int().optional(),
      }),
    ),
  }),
  z.object({
    q: z.string(),
    matches: z.array(z.object({ path: z.string(), size: z.number().int() })),
    truncated: z.boolean(),
  }),
]);
