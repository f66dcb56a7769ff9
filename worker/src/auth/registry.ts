/**
 * Named API tokens with their own lifetime (migrations/0004_tokens.sql), made on the website. The token bytes
 * keep the original's format; the registry adds the name, the lifetime (enforced by requireActor) and a list
 * the owner can revoke from. Only the SHA-256 of a token is stored: the value is shown once, when made.
 */
import { revokeToken } from "./store";
import { signToken, tokenDigest, verifyToken } from "./tokens";

export const TOKEN_NAME_MAX = 80;

export interface RegisteredToken {
  /** Hex SHA-256 of the token bytes: the token's id in pages and forms (not a secret). */
  id: string;
  user: string;
  name: string;
  issuedAt: number;
  created: number;
  /** Own expiry (unix seconds) or null. */
  expires: number | null;
  /** Revoked singly or by the user's "revoke all" (not before). */
  revoked: boolean;
}

interface Row {
  token_sha256: string;
  user: string;
  name: string;
  issued_at: number;
  created: number;
  expires: number | null;
  revoked: number;
}

function fromRow(r: Row): RegisteredToken {
  return {
    id: r.token_sha256,
    user: r.user,
    name: r.name,
    issuedAt: r.issued_at,
    created: r.created,
    expires: r.expires,
    revoked: r.revoked === 1,
  };
}

const SELECT = `SELECT t.token_sha256, t.user, t.name, t.issued_at, t.created, t.expires,
         (EXISTS (SELECT 1 FROM auth_revoked_tokens r WHERE r.token_sha256 = t.token_sha256)
          OR t.issued_at <= coalesce((SELECT not_before FROM auth_not_before n WHERE n.user = t.user), -1)) AS revoked
       FROM auth_tokens t`;

/**
 * Mints a token for `user` and registers it. Two tokens of one user minted in the same second would have the
 * same bytes (the payload is `[user, ts]`), and one issued at or before the user's "not before" would be born
 * revoked, so the timestamp moves to the first free second after both.
 */
export async function createToken(
  db: D1Database,
  seedHex: string,
  user: string,
  name: string,
  lifetimeSeconds: number | null,
  now = Math.floor(Date.now() / 1000),
): Promise<{ token: string; record: RegisteredToken }> {
  const nb = await db
    .prepare(`SELECT not_before FROM auth_not_before WHERE user = ?1`)
    .bind(user)
    .first<{ not_before: number }>();
  let issuedAt = Math.max(now, (nb?.not_before ?? -1) + 1);
  const expires = lifetimeSeconds === null ? null : now + lifetimeSeconds;
  for (let attempt = 0; attempt < 30; attempt++, issuedAt++) {
    const token = await signToken(seedHex, user, issuedAt);
    const verified = await verifyToken(seedHex, token);
    if (!verified) throw new Error("a freshly signed token did not verify");
    const id = await tokenDigest(verified.bytes);
    const res = await db
      .prepare(
        `INSERT INTO auth_tokens (token_sha256, user, name, issued_at, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (token_sha256) DO NOTHING`,
      )
      .bind(id, user, name, issuedAt, now, expires)
      .run();
    if (res.meta.changes > 0) {
      return { token, record: { id, user, name, issuedAt, created: now, expires, revoked: false } };
    }
  }
  throw new Error("could not find a free token timestamp");
}

/** The user's registered tokens, newest first (revoked and expired ones included, marked). */
export async function listTokens(db: D1Database, user: string, limit = 100): Promise<RegisteredToken[]> {
  const { results } = await db
    .prepare(`${SELECT} WHERE t.user = ?1 ORDER BY t.created DESC, t.issued_at DESC LIMIT ?2`)
    .bind(user, limit)
    .all<Row>();
  return results.map(fromRow);
}

export async function getToken(db: D1Database, user: string, id: string): Promise<RegisteredToken | null> {
  const row = await db.prepare(`${SELECT} WHERE t.token_sha256 = ?1 AND t.user = ?2`).bind(id, user).first<Row>();
  return row ? fromRow(row) : null;
}

/** Revokes one of the user's registered tokens; false when `id` is not one of them. */
export async function revokeRegistered(db: D1Database, user: string, id: string, now = Math.floor(Date.now() / 1000)) {
  const token = await getToken(db, user, id);
  if (!token) return false;
  await revokeToken(db, token.id, token.user, token.issuedAt, now);
  return true;
}
