/** The JSON answer of `GET /api/search` (page.tsx `searchJson`), for docs/openapi.md. */
import { z } from "zod";

const hit = z.object({
  repository: z.string(),
  name: z.string(),
  kind: z.enum(["regular", "symlink", "taglink"]),
  updated: z.number().int(),
  snippet: z.string().optional(),
});

export const searchResultsSchema = z.object({
  q: z.string(),
  repositories: z.array(z.object({ name: z.string(), official: z.boolean(), updated: z.number().int() })),
  names: z.array(hit),
  readmes: z.array(hit),
});
