-- Member sessions (docs/member-sessions.md): a partner's backend asks for a short-lived,
-- read-only token scoped to one member, and the member's browser shows the coalition balance
-- with it. Only the token's SHA-256 is kept; a session ends at `expires_at` (at most 15 minutes).
CREATE TABLE member_sessions (
  token_hash TEXT PRIMARY KEY,   -- hex SHA-256 of the token
  partner_id TEXT NOT NULL,      -- who asked for it: its privacy view, its point value, its origins
  member_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX member_sessions_expiry ON member_sessions (expires_at);

-- The browser origins a partner's app runs on (CORS on the member endpoints): a JSON array of
-- origins, set by the operator (PATCH /admin/v1/partners/{id}).
ALTER TABLE partners ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
