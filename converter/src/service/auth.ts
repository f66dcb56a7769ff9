/**
 * Bearer authentication of the converter's internal endpoints (the Worker is the only caller). The comparison
 * is constant-time over SHA-256 digests, so neither the secret's bytes nor its length leak through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

export function makeBearerCheck(secret: string): (req: IncomingMessage) => boolean {
  const expected = digest(secret);
  return (req) => {
    const header = req.headers.authorization;
    if (typeof header !== "string") return false;
    const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) return false;
    return timingSafeEqual(digest(match[1] as string), expected);
  };
}
