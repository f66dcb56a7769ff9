/** The JSON answers of `GET /api/flist/<repo>/<name>/tree` (routes.ts), for docs/openapi.md. */
import { z } from "zod";

const entryType = z.enum(["directory", "file", "symlink", "special"]);

export const treeAnswerSchema = z.union([
  z.object({
    path: z.string(),
    /** false: the flist was published without entry types (a path with children is a directory, the rest files). */
    typed: z.boolean(),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    entries: z.array(
      z.object({
        name: z.string(),
        path: z.string(),
        type: entryType,
        size: z.number().int(),
        /** Directories only: how many entries it holds (0: an empty directory). */
        children: z.number().int().optional(),
        /** Symlinks only: where it points. */
        target: z.string().optional(),
      }),
    ),
  }),
  z.object({
    q: z.string(),
    typed: z.boolean(),
    matches: z.array(z.object({ path: z.string(), size: z.number().int(), type: entryType.optional(), target: z.string().optional() })),
    truncated: z.boolean(),
  }),
]);
