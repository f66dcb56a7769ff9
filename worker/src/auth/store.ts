/**
 * D1 access for authentication state (tables from migrations/0002_auth.sql). Every authenticated request does
 * exactly one query here (`checkTokenState`), so auth cost stays constant whatever the catalog size.
 */

export interface TokenState {
  /** Tokens of this user issued at or before this time (unix seconds) are revoked; null = none. */
  notBefore: number | null;
  /** This very token is on the revocation list. */
  revoked: boolean;
  /** The user may act for the requested repository (always true when acting as itself). */
  member: boolean;
  /** Own expiry of a registered token (migrations/0004_tokens.sql), unix seconds; null = none or not registered. */
  expires: number | null;
}

export async function checkTokenState(
  db: D1Database,
  user: string,
  tokenSha256: string,
  repository: string | null,
): Promise<TokenState> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT not_before FROM auth_not_before WHERE user = ?1) AS not_before,
         EXISTS (SELECT 1 FROM auth_revoked_tokens WHERE token_sha256 = ?2) AS revoked,
         CASE WHEN ?3 IS NULL THEN 1
              ELSE EXISTS (SELECT 1 FROM auth_memberships WHERE repository = ?3 AND user = ?1) END AS member,
         (SELECT expires FROM auth_tokens WHERE token_sha256 = ?2 AND user = ?1) AS expires`,
    )
    .bind(user, tokenSha256, repository)
    .first<{ not_before: number | null; revoked: number; member: number; expires: number | null }>();
  return {
    notBefore: row?.not_before ?? null,
    revoked: row?.revoked === 1,
    member: row?.member === 1,
    expires: row?.expires ?? null,
  };
}

export async function revokeToken(
  db: D1Database,
  tokenSha256: string,
  user: string,
  issuedAt: number,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO auth_revoked_tokens (token_sha256, user, issued_at, revoked_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (token_sha256) DO NOTHING`,
    )
    .bind(tokenSha256, user, issuedAt, now)
    .run();
}

/** Sets the user's "not before"; never moves it backwards (a later revoke-all cannot un-revoke tokens). */
export async function setNotBefore(db: D1Database, user: string, notBefore: number): Promise<number> {
  const row = await db
    .prepare(
      `INSERT INTO auth_not_before (user, not_before) VALUES (?1, ?2)
       ON CONFLICT (user) DO UPDATE SET not_before = max(not_before, excluded.not_before)
       RETURNING not_before`,
    )
    .bind(user, notBefore)
    .first<{ not_before: number }>();
  return row?.not_before ?? notBefore;
}

export async function addMember(db: D1Database, repository: string, user: string, now: number): Promise<boolean> {
  const res = await db
    .prepare(
      `INSERT INTO auth_memberships (repository, user, created_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (repository, user) DO NOTHING`,
    )
    .bind(repository, user, now)
    .run();
  return res.meta.changes > 0;
}

export async function removeMember(db: D1Database, repository: string, user: string): Promise<boolean> {
  const res = await db
    .prepare(`DELETE FROM auth_memberships WHERE repository = ?1 AND user = ?2`)
    .bind(repository, user)
    .run();
  return res.meta.changes > 0;
}

export async function listMembers(db: D1Database, repository: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT user FROM auth_memberships WHERE repository = ?1 ORDER BY user`)
    .bind(repository)
    .all<{ user: string }>();
  return results.map((r) => r.user);
}

export async function listRepositoriesOf(db: D1Database, user: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT repository FROM auth_memberships WHERE user = ?1 ORDER BY repository`)
    .bind(user)
    .all<{ repository: string }>();
  return results.map((r) => r.repository);
}
