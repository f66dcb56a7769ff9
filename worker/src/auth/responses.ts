/** Response schemas of the token routes (auth/routes.ts), for docs/openapi.md. */
import { z } from "zod";
import { okSchema } from "../http/envelope";

export const whoamiSchema = okSchema(z.object({ username: z.string().describe("the acting repository") }));
export type Whoami = z.infer<typeof whoamiSchema>["payload"];

export const revokedSchema = okSchema(
  z.union([
    z.object({ user: z.string(), revoked: z.literal(1) }),
    z.object({ user: z.string(), notBefore: z.number().int() }),
  ]),
);
