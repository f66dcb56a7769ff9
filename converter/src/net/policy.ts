/**
 * `HUB_OUTBOUND_ALLOW`: comma-separated address ranges (`10.0.0.0/8`, `fd12:3456::/48`, `192.0.2.7`) the operator
 * lets the hub reach on any port although they are not public (an internal registry over HTTPS, say). Empty or
 * unset: public addresses only. Checked at start-up: a malformed entry fails with its text (no secret in it).
 */
import { z } from "zod";
import { parseCidr } from "./ranges.ts";

const AllowList = z
  .string()
  .optional()
  .transform((v) => (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))
  .superRefine((entries, ctx) => {
    for (const entry of entries) {
      try {
        parseCidr(entry);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `HUB_OUTBOUND_ALLOW: ${(err as Error).message}` });
      }
    }
  });

export function outboundAllowFromEnv(env: Record<string, string | undefined> = process.env): string[] {
  const parsed = AllowList.safeParse(env.HUB_OUTBOUND_ALLOW);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}
