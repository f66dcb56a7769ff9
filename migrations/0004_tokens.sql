-- Registry of API tokens made on the website (My account, /token): a name and an own lifetime for tokens whose
-- bytes stay in the original's format (hub-api.md §6.2, which has no room for either). Tokens are still never
-- stored: only the hex SHA-256 of their decoded bytes, like auth_revoked_tokens. A token that is not registered
-- (scripts/token.ts, the original hub's) keeps working under HUB_TOKEN_MAX_AGE alone.
CREATE TABLE auth_tokens (
  token_sha256 TEXT PRIMARY KEY NOT NULL,
  user TEXT NOT NULL,
  name TEXT NOT NULL,
  issued_at INTEGER NOT NULL,            -- the timestamp inside the token
  created INTEGER NOT NULL,
  expires INTEGER                        -- unix seconds; NULL = no own expiry (HUB_TOKEN_MAX_AGE still applies)
) WITHOUT ROWID;
CREATE INDEX auth_tokens_by_user ON auth_tokens (user, created);
