-- Authentication state (worker/src/auth): organisation memberships and token revocation.
-- Tokens themselves are never stored: they are stateless Ed25519-signed [user, ts] payloads.

-- `user` may act for `repository` (the original's `active-user` cookie / itsyou.online `memberof`).
-- A user may always act as itself, so self-memberships are never stored.
CREATE TABLE auth_memberships (
  repository TEXT NOT NULL,
  user TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (repository, user)
) WITHOUT ROWID;
CREATE INDEX auth_memberships_by_user ON auth_memberships (user, repository);

-- Single revoked tokens, by hex SHA-256 of the decoded token bytes (never the token).
CREATE TABLE auth_revoked_tokens (
  token_sha256 TEXT PRIMARY KEY NOT NULL,
  user TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-user "not before": every token of `user` issued at or before `not_before` (unix seconds) is revoked.
CREATE TABLE auth_not_before (
  user TEXT PRIMARY KEY NOT NULL,
  not_before INTEGER NOT NULL
) WITHOUT ROWID;
