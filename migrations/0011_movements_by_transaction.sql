-- Lot movements keyed by their transaction (issue 10 §3: burn ≤ 13 rows written).
--
-- A movement was a rowid row plus an entry in `lot_movements_txn` (txn_id, kind, id), and one
-- that acts on another (capture, release, restore) a third in `lot_movements_ref`: 2–3 rows per
-- lot a write touches. Every query finds movements by their transaction, so the table is now
-- keyed by it, WITHOUT ROWID: one row per movement, no index.
--
-- `n` numbers a transaction's movements in the order they were made. Existing movements keep
-- their old global id as `n` (unique within their transaction too), so settlement entries'
-- `src_id` (= n) and the statement line ids built from it stay what partners have seen.
-- `ref_n` is the movement acted on, numbered within the transaction it belongs to: the hold
-- itself for a capture or release, the reversed burn (the reversal's `original_id`) for a
-- restore. The old `ref_id` was that movement's global id, which is its `n`.
CREATE TABLE lot_movements_v2 (
  txn_id TEXT NOT NULL,
  n INTEGER NOT NULL CHECK (n > 0),
  lot_id INTEGER NOT NULL REFERENCES lots (id),
  kind TEXT NOT NULL CHECK (kind IN ('reserve', 'release', 'consume', 'capture', 'restore', 'take_back', 'expire', 'unexpire', 'repay')),
  points INTEGER NOT NULL CHECK (points > 0),
  issuer_id TEXT NOT NULL,
  redeemer_id TEXT,                            -- consume / capture / restore: the redeeming partner
  issue_price_micros INTEGER NOT NULL,
  redeem_price_micros INTEGER,
  ref_n INTEGER,
  at INTEGER NOT NULL,
  PRIMARY KEY (txn_id, n)
) WITHOUT ROWID;

-- Copying must not apply the movements to their lots again, nor settle them again.
DROP TRIGGER lot_movements_apply;
DROP TRIGGER settle_movement;
INSERT INTO lot_movements_v2 (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros,
  redeem_price_micros, ref_n, at)
SELECT txn_id, id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, ref_id, at
  FROM lot_movements;
DROP TABLE lot_movements;
ALTER TABLE lot_movements_v2 RENAME TO lot_movements;

-- As in 0010, on the new table.
CREATE TRIGGER lot_movements_apply AFTER INSERT ON lot_movements BEGIN
  UPDATE lots SET
    remaining = remaining + CASE NEW.kind
      WHEN 'release' THEN NEW.points WHEN 'restore' THEN NEW.points
      WHEN 'unexpire' THEN 0 WHEN 'capture' THEN 0  -- a capture posts points already reserved
      ELSE -NEW.points END,
    expired = expired + CASE NEW.kind WHEN 'expire' THEN NEW.points WHEN 'unexpire' THEN -NEW.points ELSE 0 END
  WHERE id = NEW.lot_id;
  -- Only when the lot was spent to zero or came back from zero (no write otherwise).
  UPDATE lots SET live = (remaining > 0) WHERE id = NEW.lot_id AND live <> (remaining > 0);
END;

-- As in 0007, with the movement's number as the entry's `src_id`.
CREATE TRIGGER settle_movement AFTER INSERT ON lot_movements
WHEN NEW.kind IN ('consume', 'capture', 'restore', 'take_back', 'unexpire', 'expire', 'repay') BEGIN
  INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, redeemer_id, points, issue_price_micros,
    redeem_price_micros)
  SELECT NEW.issuer_id,
         MAX(NEW.at, COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))),
         NEW.txn_id, 'movement', NEW.n,
         CASE WHEN NEW.kind IN ('consume', 'capture') THEN 'redeem' ELSE NEW.kind END,
         NEW.redeemer_id, NEW.points, NEW.issue_price_micros, COALESCE(NEW.redeem_price_micros, 0);
END;
