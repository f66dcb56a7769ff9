/**
 * `requireInternal()`: guards `/internal/*` routes (operators and the converter) with
 * `Authorization: Bearer <INTERNAL_SECRET>`. The comparison is constant-time over SHA-256 digests, so neither
 * the content nor the length of the secret leaks through timing.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { fail } from "../http/respond";

// workerd's extension; the "WebWorker" lib in tsconfig types `crypto.subtle` without it.
const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

export async function isInternalSecret(presented: string, secret: string | undefined): Promise<boolean> {
  // An unset or empty secret must never let an empty bearer through.
  if (!secret) return false;
  const [a, b] = await Promise.all([sha256(presented), sha256(secret)]);
  return subtle.timingSafeEqual(a, b);
}

export function requireInternal(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.env.INTERNAL_SECRET) return fail(c, 503, "internal routes are disabled (INTERNAL_SECRET is not set)");
    const header = c.req.header("Authorization");
    if (!header) return fail(c, 401, "no authorization provided");
    const match = /^bearer (.*)$/i.exec(header);
    if (!match) return fail(c, 400, "invalid authorization header");
    if (!(await isInternalSecret(match[1] ?? "", c.env.INTERNAL_SECRET))) return fail(c, 401, "invalid internal secret");
    await next();
  };
}
