/** Response schemas of the archive resumable upload sessions (uploads/resumable.ts), for docs/openapi.md. */
import { z } from "zod";
import { okSchema } from "../http/envelope";

const partSchema = z.object({ part: z.number().int(), size: z.number().int(), etag: z.string() });

export const sessionCreatedSchema = okSchema(
  z.object({ id: z.string(), name: z.string(), partSize: z.number().int(), url: z.string() }),
);

export const sessionViewSchema = okSchema(
  z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(["open", "completed", "aborted"]),
    partSize: z.number().int(),
    parts: z.array(partSchema),
    received: z.number().int(),
    url: z.string(),
  }),
);

export const partRecordedSchema = okSchema(partSchema);
