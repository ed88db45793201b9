-- The ledger (economics.md): members, rate cards, transactions, double-entry postings, lots,
-- lot movements (consumption records for bilateral settlement), debts. Points are INTEGER;
-- prices are exact micros of the settlement currency per point; amounts and rates as given (TEXT).

CREATE TABLE coalition_settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  expiry_months INTEGER NOT NULL DEFAULT 24 CHECK (expiry_months BETWEEN 1 AND 120),
  reporting_window_days INTEGER NOT NULL DEFAULT 30 CHECK (reporting_window_days BETWEEN 1 AND 366),
  review_timeout_seconds INTEGER NOT NULL DEFAULT 604800
);
INSERT INTO coalition_settings (id) VALUES (1);

CREATE TABLE rate_cards (
  id TEXT PRIMARY KEY,                         -- rc_…
  partner_id TEXT NOT NULL REFERENCES partners (id),
  effective_from INTEGER NOT NULL,
  earn TEXT NOT NULL,                          -- JSON [{ unit, points_per_unit }]
  burn TEXT NOT NULL,                          -- JSON [{ unit, value_per_point }]
  issue_price TEXT NOT NULL,
  redeem_price TEXT NOT NULL,
  issue_price_micros INTEGER NOT NULL CHECK (issue_price_micros >= 0),
  redeem_price_micros INTEGER NOT NULL CHECK (redeem_price_micros >= 0),
  campaigns TEXT NOT NULL,                     -- JSON [{ name, multiplier, from, to, days_of_week? }]
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX rate_cards_in_force ON rate_cards (partner_id, effective_from DESC, created_at DESC);

CREATE TABLE members (
  id TEXT PRIMARY KEY,                         -- mbr_…
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,                    -- the enrolling partner
  -- Points owed by the member after earn reversals of spent points; repaid first by any points
  -- that reach the member. The per-issuer detail is in `debts`.
  debt_points INTEGER NOT NULL DEFAULT 0 CHECK (debt_points >= 0)
);

CREATE TABLE member_links (
  partner_id TEXT NOT NULL REFERENCES partners (id),
  member_ref TEXT NOT NULL,
  member_id TEXT NOT NULL REFERENCES members (id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (partner_id, member_ref),
  UNIQUE (member_id, partner_id)
) WITHOUT ROWID;

CREATE TABLE link_codes (
  code TEXT PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members (id),
  issued_by TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  used_by TEXT
) WITHOUT ROWID;

-- One row per transaction. Amounts, prices and the rate card are stored on it and never change;
-- only `status` moves (pending → posted, held → posted/voided, review → …), as the contract says.
CREATE TABLE transactions (
  seq INTEGER PRIMARY KEY,                     -- booking order
  id TEXT NOT NULL UNIQUE,                     -- txn_…
  type TEXT NOT NULL CHECK (type IN ('earn', 'burn', 'reversal', 'expiry', 'adjustment')),
  status TEXT NOT NULL CHECK (status IN ('posted', 'pending', 'held', 'voided', 'review', 'rejected')),
  partner_id TEXT NOT NULL,                    -- the partner that made it; 'operator' for adjustments and expiries
  member_id TEXT NOT NULL REFERENCES members (id),
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
  risk_rule_id TEXT                            -- the review rule that held it back
);
CREATE INDEX transactions_member ON transactions (member_id, seq DESC);
CREATE INDEX transactions_partner ON transactions (partner_id, seq DESC);
CREATE INDEX transactions_partner_booked ON transactions (partner_id, booked_at, seq);
CREATE INDEX transactions_original ON transactions (original_id) WHERE original_id IS NOT NULL;
CREATE INDEX transactions_open ON transactions (member_id, status) WHERE status IN ('held', 'review', 'pending');
CREATE INDEX transactions_open_by_time ON transactions (status, expires_at) WHERE status IN ('held', 'review');
CREATE INDEX transactions_pending_release ON transactions (status, available_at) WHERE status = 'pending';

-- Double entry: every transaction's postings sum to zero (invariant 1). Accounts:
--   issuer:<partner>   points issued by a partner (negative: outstanding issuance)
--   member:<id>        a member's points (lots; positive)
--   held:<id>          a member's points reserved by open holds and review burns
--   redeemed:<partner> points redeemed at a partner
--   breakage           expired points
--   debt:<id>          points a member owes after earn reversals (negative when owed)
CREATE TABLE postings (
  id INTEGER PRIMARY KEY,
  txn_id TEXT NOT NULL,
  account TEXT NOT NULL,
  points INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX postings_txn ON postings (txn_id);

CREATE TRIGGER postings_apply AFTER INSERT ON postings BEGIN
  INSERT INTO account_balances (account, points) VALUES (NEW.account, NEW.points)
  ON CONFLICT (account) DO UPDATE SET points = points + excluded.points;
END;

-- Running balance per account, updated in the same batch as the postings.
CREATE TABLE account_balances (
  account TEXT PRIMARY KEY,
  points INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE lots (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  issuer_id TEXT NOT NULL,                     -- partner id, or 'operator'
  txn_id TEXT NOT NULL,                        -- the earn or adjustment that created it
  issue_price_micros INTEGER NOT NULL,
  points INTEGER NOT NULL CHECK (points >= 0),
  remaining INTEGER NOT NULL CHECK (remaining >= 0),
  expired INTEGER NOT NULL DEFAULT 0 CHECK (expired >= 0),  -- points expired into breakage, not taken back
  available_at INTEGER NOT NULL,               -- not spendable before (pending earn)
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX lots_live ON lots (member_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX lots_expiring ON lots (expires_at) WHERE remaining > 0;
CREATE UNIQUE INDEX lots_txn ON lots (txn_id);

-- Every movement of points out of or back into a lot: `consume` (burn, adjustment debit),
-- `reserve`/`release`/`capture` (holds, review burns), `restore` (burn reversal), `take_back` and
-- `unexpire` (earn reversal, from the lot or from breakage), `expire`, `repay` (points that
-- repay a debt). `ref_id` links a capture/release/restore to the movement it acts on.
-- The trigger below applies each movement to its lot, so a lot's remaining is always the sum of
-- its movements, and the CHECK on lots.remaining aborts any batch that would overdraw a lot.
CREATE TABLE lot_movements (
  id INTEGER PRIMARY KEY,
  txn_id TEXT NOT NULL,
  lot_id INTEGER NOT NULL REFERENCES lots (id),
  kind TEXT NOT NULL CHECK (kind IN ('reserve', 'release', 'consume', 'capture', 'restore', 'take_back', 'expire', 'unexpire', 'repay')),
  points INTEGER NOT NULL CHECK (points > 0),
  issuer_id TEXT NOT NULL,
  redeemer_id TEXT,                            -- consume / restore: the redeeming partner
  issue_price_micros INTEGER NOT NULL,
  redeem_price_micros INTEGER,
  ref_id INTEGER,
  at INTEGER NOT NULL
);
CREATE INDEX lot_movements_txn ON lot_movements (txn_id, kind, id);
CREATE INDEX lot_movements_ref ON lot_movements (ref_id) WHERE ref_id IS NOT NULL;

CREATE TRIGGER lot_movements_apply AFTER INSERT ON lot_movements BEGIN
  UPDATE lots SET
    remaining = remaining + CASE NEW.kind
      WHEN 'release' THEN NEW.points WHEN 'restore' THEN NEW.points
      WHEN 'unexpire' THEN 0 WHEN 'capture' THEN 0  -- a capture posts points already reserved
      ELSE -NEW.points END,
    expired = expired + CASE NEW.kind WHEN 'expire' THEN NEW.points WHEN 'unexpire' THEN -NEW.points ELSE 0 END
  WHERE id = NEW.lot_id;
END;

-- Debts from earn reversals of points already spent, per issuer, repaid oldest first.
CREATE TABLE debts (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  issuer_id TEXT NOT NULL,
  issue_price_micros INTEGER NOT NULL,
  created_by_txn TEXT NOT NULL,
  points INTEGER NOT NULL CHECK (points > 0),
  outstanding INTEGER NOT NULL CHECK (outstanding >= 0),
  created_at INTEGER NOT NULL
);
CREATE INDEX debts_open ON debts (member_id, id) WHERE outstanding > 0;

-- Each repayment of a debt: by which transaction, how many points. A reversal of the repaying
-- earn brings the debt back.
-- (Which lots' points repaid it, and so which issuer, is in lot_movements of kind 'repay'.)
CREATE TABLE debt_repayments (
  id INTEGER PRIMARY KEY,
  debt_id INTEGER NOT NULL REFERENCES debts (id),
  txn_id TEXT NOT NULL,
  points INTEGER NOT NULL,                     -- negative when a reversal brings the debt back
  at INTEGER NOT NULL
);
CREATE INDEX debt_repayments_txn ON debt_repayments (txn_id);

CREATE TRIGGER debts_apply AFTER INSERT ON debts BEGIN
  UPDATE members SET debt_points = debt_points + NEW.outstanding WHERE id = NEW.member_id;
END;

CREATE TRIGGER debt_repayments_apply AFTER INSERT ON debt_repayments BEGIN
  UPDATE debts SET outstanding = outstanding - NEW.points WHERE id = NEW.debt_id;
  UPDATE members SET debt_points = debt_points - NEW.points
   WHERE id = (SELECT member_id FROM debts WHERE id = NEW.debt_id);
END;
