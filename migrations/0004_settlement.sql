-- Settlement (economics.md "Settlement", partner-api.md §7, operator-api.md "Settlement").
--
-- Every ledger batch records what it settles as `settlement_entries` (one row per lot issued,
-- consumption record, take-back, expiry, debt repayment, reversal), stamped with its settlement
-- time `at` = MAX(batch clock, end of the last closed period): a batch whose clock falls inside
-- an already-closed period settles in the next open one. A trigger keeps `settlement_aggregates`
-- (point sums per 15-minute bucket, kind, issuer, redeemer and prices) in step, so a close sums
-- buckets instead of reading every transaction. Closed periods, reports, statements and positions
-- are immutable: triggers abort any UPDATE or DELETE.

-- How periods are cut: daily / weekly (ISO, Monday) / monthly, at a fixed UTC offset (whole
-- quarter hours, so every scheduled boundary is a bucket boundary); closed `grace_seconds` after
-- their end by the scheduled job. `origin` is the start of the first period.
CREATE TABLE settlement_config (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  period TEXT NOT NULL DEFAULT 'daily' CHECK (period IN ('daily', 'weekly', 'monthly')),
  utc_offset_minutes INTEGER NOT NULL DEFAULT 0 CHECK (utc_offset_minutes BETWEEN -720 AND 840 AND utc_offset_minutes % 15 = 0),
  grace_seconds INTEGER NOT NULL DEFAULT 300 CHECK (grace_seconds BETWEEN 0 AND 86400),
  origin INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO settlement_config (id, origin, updated_at) VALUES (1, (unixepoch() / 86400) * 86400000, unixepoch() * 1000);

-- Closed (or being closed) periods, contiguous: each starts where the previous ended. The id is
-- derived from the start (stl_YYYYMMDDTHHMMSSZ), so a booking can name a period not closed yet.
CREATE TABLE settlement_periods (
  id TEXT PRIMARY KEY,
  start_at INTEGER NOT NULL UNIQUE,
  end_at INTEGER NOT NULL UNIQUE,
  off_cycle INTEGER NOT NULL CHECK (off_cycle IN (0, 1)),
  closed_at INTEGER NOT NULL,
  closed_by TEXT NOT NULL,
  CHECK (end_at > start_at)
);

CREATE TABLE settlement_entries (
  id INTEGER PRIMARY KEY,
  txn_id TEXT NOT NULL,
  txn_type TEXT NOT NULL,
  src TEXT NOT NULL CHECK (src IN ('lot', 'movement', 'repayment', 'returned', 'reversal')),
  src_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('issue', 'reverse_issue', 'take_back', 'unexpire', 'repaid_returned', 'debt_repaid', 'redeem', 'restore', 'expire', 'repay')),
  issuer_id TEXT NOT NULL,
  redeemer_id TEXT,
  points INTEGER NOT NULL CHECK (points <> 0),
  issue_price_micros INTEGER NOT NULL,
  redeem_price_micros INTEGER NOT NULL DEFAULT 0,
  at INTEGER NOT NULL
);
CREATE UNIQUE INDEX settlement_entries_src ON settlement_entries (src, src_id);
CREATE INDEX settlement_entries_at ON settlement_entries (at);
CREATE INDEX settlement_entries_issuer ON settlement_entries (issuer_id, at);
CREATE INDEX settlement_entries_redeemer ON settlement_entries (redeemer_id, at) WHERE redeemer_id IS NOT NULL;
CREATE INDEX settlement_entries_txn ON settlement_entries (txn_id);

CREATE TABLE settlement_aggregates (
  bucket INTEGER NOT NULL,                     -- start of the 15-minute bucket of `at`
  kind TEXT NOT NULL,
  issuer_id TEXT NOT NULL,
  redeemer_id TEXT NOT NULL,                   -- '' when none
  issue_price_micros INTEGER NOT NULL,
  redeem_price_micros INTEGER NOT NULL,
  points INTEGER NOT NULL,
  lines INTEGER NOT NULL,
  PRIMARY KEY (bucket, kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros)
) WITHOUT ROWID;

CREATE TRIGGER settlement_entries_aggregate AFTER INSERT ON settlement_entries BEGIN
  INSERT INTO settlement_aggregates (bucket, kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, points, lines)
  VALUES (NEW.at - NEW.at % 900000, NEW.kind, NEW.issuer_id, COALESCE(NEW.redeemer_id, ''), NEW.issue_price_micros,
          NEW.redeem_price_micros, NEW.points, 1)
  ON CONFLICT (bucket, kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros)
  DO UPDATE SET points = points + excluded.points, lines = lines + 1;
END;

-- The signed full report (canonical JSON text, with digest and signature) of a closed period.
-- `close_token` names the close call whose batch wrote it: only that batch applies the funding.
CREATE TABLE settlement_reports (
  id TEXT PRIMARY KEY REFERENCES settlement_periods (id),
  start_at INTEGER NOT NULL,
  end_at INTEGER NOT NULL,
  report TEXT NOT NULL,
  summary TEXT NOT NULL,
  digest TEXT NOT NULL,
  close_token TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Each partner's signed statement (canonical JSON text), as served to it.
CREATE TABLE settlement_statements (
  settlement_id TEXT NOT NULL REFERENCES settlement_reports (id),
  partner_id TEXT NOT NULL,
  statement TEXT NOT NULL,
  digest TEXT NOT NULL,
  PRIMARY KEY (settlement_id, partner_id)
) WITHOUT ROWID;
CREATE INDEX settlement_statements_partner ON settlement_statements (partner_id, settlement_id);

-- The points position of a closed period per issuer and issue price (the next period's opening).
CREATE TABLE settlement_positions (
  settlement_id TEXT NOT NULL REFERENCES settlement_reports (id),
  issuer_id TEXT NOT NULL,
  issue_price_micros INTEGER NOT NULL,
  opening INTEGER NOT NULL,
  issued INTEGER NOT NULL,
  reversed INTEGER NOT NULL,
  redeemed INTEGER NOT NULL,
  expired INTEGER NOT NULL,
  debt_created INTEGER NOT NULL,
  debt_repaid INTEGER NOT NULL,
  closing INTEGER NOT NULL,
  PRIMARY KEY (settlement_id, issuer_id, issue_price_micros)
) WITHOUT ROWID;

CREATE TRIGGER settlement_periods_no_update BEFORE UPDATE ON settlement_periods BEGIN
  SELECT RAISE(ABORT, 'settlement periods are immutable');
END;
CREATE TRIGGER settlement_periods_no_delete BEFORE DELETE ON settlement_periods BEGIN
  SELECT RAISE(ABORT, 'settlement periods are immutable');
END;
CREATE TRIGGER settlement_entries_no_update BEFORE UPDATE ON settlement_entries BEGIN
  SELECT RAISE(ABORT, 'settlement entries are immutable');
END;
CREATE TRIGGER settlement_entries_no_delete BEFORE DELETE ON settlement_entries BEGIN
  SELECT RAISE(ABORT, 'settlement entries are immutable');
END;
CREATE TRIGGER settlement_reports_no_update BEFORE UPDATE ON settlement_reports BEGIN
  SELECT RAISE(ABORT, 'closed settlement reports are immutable');
END;
CREATE TRIGGER settlement_reports_no_delete BEFORE DELETE ON settlement_reports BEGIN
  SELECT RAISE(ABORT, 'closed settlement reports are immutable');
END;
CREATE TRIGGER settlement_statements_no_update BEFORE UPDATE ON settlement_statements BEGIN
  SELECT RAISE(ABORT, 'closed settlement statements are immutable');
END;
CREATE TRIGGER settlement_statements_no_delete BEFORE DELETE ON settlement_statements BEGIN
  SELECT RAISE(ABORT, 'closed settlement statements are immutable');
END;
CREATE TRIGGER settlement_positions_no_update BEFORE UPDATE ON settlement_positions BEGIN
  SELECT RAISE(ABORT, 'closed settlement positions are immutable');
END;
CREATE TRIGGER settlement_positions_no_delete BEFORE DELETE ON settlement_positions BEGIN
  SELECT RAISE(ABORT, 'closed settlement positions are immutable');
END;
