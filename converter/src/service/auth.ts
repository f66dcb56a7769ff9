/**
 * Bearer authentication of the converter's internal endpoints (the Worker is the only caller). The comparison
 * is constant-time over SHA-256 digests, so neither the secret's bytes nor its length leak through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** Whether an `Authorization` header value carries `secret` as a bearer token. */
export function makeBearerCheck(secret: string): (header: string | undefined) => boolean {
  const expected = digest(secret);
  return (header) => {
    if (typeof header !== "string") return false;
    const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) return false;
    return timingSafeEqual(digest(match[1] as string), expected);
  };
}
