-- Every write decided in one D1 batch, at half the rows (issue "Every write decided in one D1
-- batch"). What changes, and why:
--  1. catalogue_version: triggers bump it whenever something a write is decided on changes
--     (partners' settings and status, keys, rate cards, the rule set, coalition settings), so a
--     batch decided on an isolate's cached catalogue carries a guard on the version it used.
--  2. request_nonces keyed by a 5-minute generation of their expiry first: the replay check seeks
--     four generations, the pruning job deletes whole old generations, and no second index is kept.
--  3. idempotency_keys keep only what a replay needs: no claim token or state (a request's record
--     is written by the batch that commits it, or not at all), a 16-byte request hash.
--  4. transactions keyed by their id (no rowid, no second unique index); booking order is
--     (booked_at, id); an earn names its lot (lot_id), every transaction when it settled.
--  5. postings become transfers: one row per pair of legs (points leave `from_account` for `to_account`),
--     so an earn writes one row, not three postings and three running balances. Balances are sums.
--  6. settlement_entries keyed by (issuer, time), written by triggers on the rows they settle (a
--     lot, a movement, a debt repayment, a reversal), exactly once each, with no scan afterwards.

-- 1. ------------------------------------------------------------------------------------------
CREATE TABLE catalogue_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
-- Starts at a random number: a cache built on another database (a test run's) never matches by chance.
INSERT INTO catalogue_version (id, version) VALUES (1, abs(random() % 1000000000000));

CREATE TRIGGER catalogue_partner_insert AFTER INSERT ON partners BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_partner_update AFTER UPDATE OF name, status, funding_mode, pending_days, hold_ttl_seconds, receivables ON partners
WHEN OLD.name IS NOT NEW.name OR OLD.status IS NOT NEW.status OR OLD.funding_mode IS NOT NEW.funding_mode
  OR OLD.pending_days IS NOT NEW.pending_days OR OLD.hold_ttl_seconds IS NOT NEW.hold_ttl_seconds OR OLD.receivables IS NOT NEW.receivables
BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_key_insert AFTER INSERT ON partner_keys BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_key_update AFTER UPDATE ON partner_keys BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_rate_card_insert AFTER INSERT ON rate_cards BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_rules_update AFTER UPDATE ON risk_rule_set BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;
CREATE TRIGGER catalogue_settings_update AFTER UPDATE ON coalition_settings BEGIN
  UPDATE catalogue_version SET version = version + 1;
END;

-- 2. ------------------------------------------------------------------------------------------
-- gen = expires_at / 300000. A jti still in force at time t expires in (t, t + 900 s] (its iat is
-- at most 300 s ahead of the clock and it is kept 600 s past it), so it is in one of the four
-- generations from t / 300000 on.
CREATE TABLE request_nonces_v2 (
  gen INTEGER NOT NULL,
  partner_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (gen, partner_id, jti)
) WITHOUT ROWID;
INSERT INTO request_nonces_v2 (gen, partner_id, jti, expires_at)
SELECT expires_at / 300000, partner_id, jti, expires_at FROM request_nonces;
DROP TABLE request_nonces;
ALTER TABLE request_nonces_v2 RENAME TO request_nonces;

-- 3. ------------------------------------------------------------------------------------------
-- A successful write's response is stored as the values it was rendered from (a JSON array)
-- and the number of its format (src/http/responses.ts), the answer and every replay rendered from
-- them by the same code: the same bytes, at half the storage. Other responses (errors, the rarer
-- writes) are stored as the text (format NULL). No index on time: the pruning job walks the key
-- in chunks (src/jobs/prune.ts).
CREATE TABLE idempotency_keys_v2 (
  scope TEXT NOT NULL,            -- partner id, or 'operator'
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,     -- hex of the first 16 bytes of SHA-256(method, target, body)
  response_status INTEGER NOT NULL,
  format INTEGER,                 -- NULL: response_body is the text as sent
  response_body TEXT NOT NULL,    -- the text, or the values of the format
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_v2 (scope, key, request_hash, response_status, response_body, created_at)
SELECT scope, key, substr(request_hash, 1, 32), response_status, response_body, created_at
  FROM idempotency_keys WHERE state = 'done';
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;

-- Where a walking job left off (the idempotency records' pruning).
CREATE TABLE job_cursors (
  job TEXT PRIMARY KEY,
  position TEXT NOT NULL
) WITHOUT ROWID;

-- 4. ------------------------------------------------------------------------------------------
CREATE TABLE transactions_v2 (
  id TEXT PRIMARY KEY,                         -- txn_…
  type TEXT NOT NULL CHECK (type IN ('earn', 'burn', 'reversal', 'expiry', 'adjustment')),
  status TEXT NOT NULL CHECK (status IN ('posted', 'pending', 'held', 'voided', 'review', 'rejected')),
  partner_id TEXT NOT NULL,                    -- the partner that made it; 'operator' for adjustments and expiries
  member_id TEXT NOT NULL,
  points INTEGER NOT NULL CHECK (points > 0),  -- magnitude; a hold's authorised points
  captured_points INTEGER,                     -- a captured hold: what was posted
  direction INTEGER NOT NULL CHECK (direction IN (-1, 1)), -- +1 points reach the member, -1 leave
  order_ref TEXT,
  amount_value TEXT,
  amount_unit TEXT,
  rate TEXT,
  multiplier TEXT,
  rate_card_id TEXT,
  issue_price_micros INTEGER,
  redeem_price_micros INTEGER,
  original_id TEXT,                            -- reversal: the transaction reversed
  original_period_id TEXT,                     -- reversal: the settlement period of the original
  reason TEXT,
  occurred_at INTEGER NOT NULL,
  booked_at INTEGER NOT NULL,
  available_at INTEGER,                        -- pending earn: when it is released
  expires_at INTEGER,                          -- hold: its expiry
  decided_at INTEGER,
  context_ip TEXT,
  context_device TEXT,
  risk_rule_id TEXT,                           -- the review rule that held it back
  lot_id INTEGER,                              -- an earn's (or adjustment credit's) lot
  settled_at INTEGER                           -- when its first settlement entry settled
) WITHOUT ROWID;
INSERT INTO transactions_v2
SELECT t.id, t.type, t.status, t.partner_id, t.member_id, t.points, t.captured_points, t.direction, t.order_ref,
       t.amount_value, t.amount_unit, t.rate, t.multiplier, t.rate_card_id, t.issue_price_micros, t.redeem_price_micros,
       t.original_id, t.original_period_id, t.reason, t.occurred_at, t.booked_at, t.available_at, t.expires_at,
       t.decided_at, t.context_ip, t.context_device, t.risk_rule_id,
       (SELECT l.id FROM lots l WHERE l.txn_id = t.id),
       (SELECT MIN(e.at) FROM settlement_entries e WHERE e.txn_id = t.id)
  FROM transactions t;
DROP TABLE transactions;
ALTER TABLE transactions_v2 RENAME TO transactions;
CREATE INDEX transactions_member ON transactions (member_id, booked_at, id);
CREATE INDEX transactions_original ON transactions (original_id) WHERE original_id IS NOT NULL;
CREATE INDEX transactions_open ON transactions (member_id, status) WHERE status IN ('held', 'review', 'pending');
CREATE INDEX transactions_open_by_time ON transactions (status, expires_at) WHERE status IN ('held', 'review');
CREATE INDEX transactions_pending_release ON transactions (status, available_at) WHERE status = 'pending';
CREATE INDEX transactions_in_review ON transactions (booked_at, id) WHERE status = 'review';

-- An earn finds its lot through transactions.lot_id.
DROP INDEX lots_txn;

-- 5. ------------------------------------------------------------------------------------------
-- Accounts as before: issuer:<partner>, member:<id>, held:<id>, redeemed:<partner>, breakage, debt:<id>.
CREATE TABLE transfers (
  txn_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  from_account TEXT NOT NULL,
  to_account TEXT NOT NULL,
  points INTEGER NOT NULL CHECK (points <> 0),  -- signed: a negative transfer moves points the other way
  at INTEGER NOT NULL,
  PRIMARY KEY (txn_id, n)
) WITHOUT ROWID;
-- Each transaction's postings summed to zero: its first posting is the counter-leg of each other.
INSERT INTO transfers (txn_id, n, from_account, to_account, points, at)
SELECT p.txn_id, ROW_NUMBER() OVER (PARTITION BY p.txn_id ORDER BY p.id), h.account, p.account, p.points, p.at
  FROM postings p
  JOIN (SELECT txn_id, MIN(id) AS id FROM postings GROUP BY txn_id) first ON first.txn_id = p.txn_id
  JOIN postings h ON h.id = first.id
 WHERE p.id <> h.id;
DROP TRIGGER postings_apply;
DROP TABLE postings;
DROP TABLE account_balances;

-- 6. ------------------------------------------------------------------------------------------
CREATE TABLE settlement_entries_v2 (
  issuer_id TEXT NOT NULL,
  at INTEGER NOT NULL,                         -- MAX(the row's time, end of the last closed period)
  txn_id TEXT NOT NULL,
  src TEXT NOT NULL CHECK (src IN ('lot', 'movement', 'repayment', 'returned', 'reversal')),
  src_id INTEGER NOT NULL,                     -- lot, movement or repayment id; 0 for a reversal
  kind TEXT NOT NULL CHECK (kind IN ('issue', 'reverse_issue', 'take_back', 'unexpire', 'repaid_returned', 'debt_repaid', 'redeem', 'restore', 'expire', 'repay')),
  redeemer_id TEXT,
  points INTEGER NOT NULL CHECK (points <> 0),
  issue_price_micros INTEGER NOT NULL,
  redeem_price_micros INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (issuer_id, at, txn_id, src, src_id)
) WITHOUT ROWID;
DROP TRIGGER settlement_entries_aggregate;
DROP TRIGGER settlement_entries_no_update;
DROP TRIGGER settlement_entries_no_delete;
INSERT INTO settlement_entries_v2 (issuer_id, at, txn_id, src, src_id, kind, redeemer_id, points, issue_price_micros,
  redeem_price_micros)
SELECT issuer_id, at, txn_id, src, CASE src WHEN 'reversal' THEN 0 ELSE src_id END, kind, redeemer_id, points,
       issue_price_micros, redeem_price_micros
  FROM settlement_entries;
DROP TABLE settlement_entries;
ALTER TABLE settlement_entries_v2 RENAME TO settlement_entries;
CREATE INDEX settlement_entries_redeemer ON settlement_entries (redeemer_id, at) WHERE redeemer_id IS NOT NULL;

CREATE TRIGGER settlement_entries_aggregate AFTER INSERT ON settlement_entries BEGIN
  INSERT INTO settlement_aggregates (bucket, kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, points, lines)
  VALUES (NEW.at - NEW.at % 900000, NEW.kind, NEW.issuer_id, COALESCE(NEW.redeemer_id, ''), NEW.issue_price_micros,
          NEW.redeem_price_micros, NEW.points, 1)
  ON CONFLICT (bucket, kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros)
  DO UPDATE SET points = points + excluded.points, lines = lines + 1;
END;
CREATE TRIGGER settlement_entries_no_update BEFORE UPDATE ON settlement_entries BEGIN
  SELECT RAISE(ABORT, 'settlement entries are immutable');
END;
CREATE TRIGGER settlement_entries_no_delete BEFORE DELETE ON settlement_entries BEGIN
  SELECT RAISE(ABORT, 'settlement entries are immutable');
END;

-- The settlement time of a row made at `t`: t, or the end of the last closed period when the row's
-- batch read its clock before a close that committed first (it settles in the next open period).
-- (The same expression as CLOSED_THROUGH_SQL in src/settlement/periods.ts.)
CREATE TRIGGER settle_lot AFTER INSERT ON lots WHEN NEW.points > 0 BEGIN
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, points, issue_price_micros)
  SELECT NEW.issuer_id,
         MAX(NEW.created_at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.txn_id, 'lot', NEW.id, 'issue', NEW.points, NEW.issue_price_micros;
END;

CREATE TRIGGER settle_movement AFTER INSERT ON lot_movements
WHEN NEW.kind IN ('consume', 'capture', 'restore', 'take_back', 'unexpire', 'expire', 'repay') BEGIN
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, redeemer_id, points, issue_price_micros,
    redeem_price_micros)
  SELECT NEW.issuer_id,
         MAX(NEW.at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.txn_id, 'movement', NEW.id,
         CASE WHEN NEW.kind IN ('consume', 'capture') THEN 'redeem' ELSE NEW.kind END,
         NEW.redeemer_id, NEW.points, NEW.issue_price_micros, COALESCE(NEW.redeem_price_micros, 0);
END;

CREATE TRIGGER settle_repayment AFTER INSERT ON debt_repayments WHEN NEW.points <> 0 BEGIN
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, points, issue_price_micros)
  SELECT d.issuer_id,
         MAX(NEW.at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.txn_id, 'repayment', NEW.id, 'debt_repaid', NEW.points, d.issue_price_micros
    FROM debts d WHERE d.id = NEW.debt_id;
  -- An earn reversal hands points that had repaid a debt back to that debt: taken back from the
  -- reversed earn's issuer (credited), charged again to the debt's issuer (above, negative).
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, points, issue_price_micros)
  SELECT e.partner_id,
         MAX(NEW.at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.txn_id, 'returned', NEW.id, 'repaid_returned', -NEW.points, COALESCE(e.issue_price_micros, 0)
    FROM transactions r JOIN transactions e ON e.id = r.original_id
   WHERE r.id = NEW.txn_id AND NEW.points < 0 AND r.type = 'reversal';
END;

CREATE TRIGGER settle_reversal AFTER INSERT ON transactions WHEN NEW.type = 'reversal' BEGIN
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, points, issue_price_micros)
  SELECT e.partner_id,
         MAX(NEW.booked_at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.id, 'reversal', 0, 'reverse_issue', NEW.points, COALESCE(e.issue_price_micros, 0)
    FROM transactions e WHERE e.id = NEW.original_id AND e.type IN ('earn', 'adjustment');
END;

-- New guard codes (the table never holds a row; see src/db/guard.ts GUARD_CODES).
DROP TABLE guard;
CREATE TABLE guard (
  name TEXT NOT NULL,
  -- Who may write (partner-api.md §2, checked inside the request's own batch).
  CONSTRAINT unknown_key CHECK (name <> 'unknown_key'),
  CONSTRAINT partner_suspended CHECK (name <> 'partner_suspended'),
  CONSTRAINT replayed_request CHECK (name <> 'replayed_request'),
  -- The batch was decided on a catalogue version that changed since: decided again.
  CONSTRAINT catalogue_stale CHECK (name <> 'catalogue_stale'),
  -- The Idempotency-Key has a record: the request is a replay, a reuse, or was answered meanwhile.
  CONSTRAINT idempotency_key_exists CHECK (name <> 'idempotency_key_exists'),
  CONSTRAINT member_not_found CHECK (name <> 'member_not_found'),
  CONSTRAINT transaction_not_found CHECK (name <> 'transaction_not_found'),
  CONSTRAINT partner_not_found CHECK (name <> 'partner_not_found'),
  CONSTRAINT partner_exists CHECK (name <> 'partner_exists'),
  CONSTRAINT key_exists CHECK (name <> 'key_exists'),
  CONSTRAINT key_not_found CHECK (name <> 'key_not_found'),
  -- A capture of more points than the hold holds: a 400 (the request, not the state, is wrong).
  CONSTRAINT capture_exceeds_hold CHECK (name <> 'capture_exceeds_hold'),
  CONSTRAINT insufficient_points CHECK (name <> 'insufficient_points'),
  CONSTRAINT hold_not_open CHECK (name <> 'hold_not_open'),
  CONSTRAINT nothing_to_reverse CHECK (name <> 'nothing_to_reverse'),
  CONSTRAINT partner_funds_exhausted CHECK (name <> 'partner_funds_exhausted'),
  CONSTRAINT partner_credit_limit CHECK (name <> 'partner_credit_limit'),
  CONSTRAINT link_code_invalid CHECK (name <> 'link_code_invalid'),
  CONSTRAINT member_ref_conflict CHECK (name <> 'member_ref_conflict'),
  CONSTRAINT settlement_closed CHECK (name <> 'settlement_closed'),
  CONSTRAINT review_not_open CHECK (name <> 'review_not_open'),
  CONSTRAINT payout_exceeds_due CHECK (name <> 'payout_exceeds_due'),
  CONSTRAINT close_funding_moved CHECK (name <> 'close_funding_moved'),
  -- Last: any other name is a programming error, still aborting the batch.
  CONSTRAINT guard_unknown CHECK (name = '')
);
