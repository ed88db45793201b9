-- Partners, their signing keys, operator audit, request nonces (jti) and idempotency records.
-- Times are stored as integer milliseconds since the epoch (UTC); money as exact decimal TEXT.

-- Assertions inside an atomic batch: `INSERT INTO guard (name) SELECT '<code>' WHERE <violation>`
-- fails the CHECK named after the error code, which aborts and rolls back the whole batch
-- (a 0-row UPDATE would not). The application maps the constraint name back to an API error.
CREATE TABLE guard (
  name TEXT NOT NULL,
  CONSTRAINT insufficient_points CHECK (name <> 'insufficient_points'),
  CONSTRAINT hold_not_open CHECK (name <> 'hold_not_open'),
  CONSTRAINT nothing_to_reverse CHECK (name <> 'nothing_to_reverse'),
  CONSTRAINT partner_funds_exhausted CHECK (name <> 'partner_funds_exhausted'),
  CONSTRAINT partner_credit_limit CHECK (name <> 'partner_credit_limit'),
  CONSTRAINT idempotency_claim_lost CHECK (name <> 'idempotency_claim_lost'),
  CONSTRAINT link_code_invalid CHECK (name <> 'link_code_invalid'),
  CONSTRAINT member_ref_conflict CHECK (name <> 'member_ref_conflict'),
  CONSTRAINT settlement_closed CHECK (name <> 'settlement_closed'),
  CONSTRAINT review_not_open CHECK (name <> 'review_not_open'),
  -- Last: any other name is a programming error, still aborting the batch.
  CONSTRAINT guard_unknown CHECK (name = '')
);

CREATE TABLE partners (
  id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 2 AND 40),
  name TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  funding_mode TEXT NOT NULL CHECK (funding_mode IN ('prepaid', 'postpaid')),
  -- Settlement-currency micro-units (10^-6): exact integers, so the guards below are plain SQL.
  prepaid_balance_micros INTEGER NOT NULL DEFAULT 0,
  credit_limit_micros INTEGER NOT NULL DEFAULT 0,
  exposure_micros INTEGER NOT NULL DEFAULT 0,
  pending_days INTEGER NOT NULL DEFAULT 0 CHECK (pending_days BETWEEN 0 AND 365),
  hold_ttl_seconds INTEGER NOT NULL DEFAULT 900 CHECK (hold_ttl_seconds BETWEEN 60 AND 604800),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE partner_keys (
  partner_id TEXT NOT NULL REFERENCES partners (id),
  kid TEXT NOT NULL,
  alg TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
  public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  PRIMARY KEY (partner_id, kid)
);

-- Every jti seen from a partner, kept at least until iat + 600 s (pruned by a scheduled job).
CREATE TABLE request_nonces (
  partner_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (partner_id, jti)
) WITHOUT ROWID;
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);

-- Idempotency records. `state` in_flight → done. A done record's response is replayed byte for byte.
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,            -- partner id, or 'operator'
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,     -- SHA-256 of method, path and body
  state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
  claim_token TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  response_status INTEGER,
  response_body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,            -- the operator token's sub
  action TEXT NOT NULL,           -- e.g. partner.create, key.revoke
  target TEXT NOT NULL,
  detail TEXT NOT NULL            -- JSON
);
