-- Fewer rows per point movement, and a balance read that does not sum every lot (issue 10 §3).
--
-- 1. `lots.live` (remaining > 0) keys the partial indexes instead of `remaining`: SQLite rewrites
--    a partial index entry whenever a column of its WHERE is updated, so keyed on `remaining` every
--    movement on a lot wrote both indexes again (2 rows); `live` is updated only when it flips.
-- 2. `members.lot_points` is the sum of `remaining` over the member's lots, kept from the
--    member's transfers (below): a balance is this row minus the few lots not spendable now
--    (lapsed, or pending), each found by an index seek, instead of a sum over every live lot.
-- Both are derived and checked by the ledger invariants (src/ledger/invariants.ts, check 9).
ALTER TABLE lots ADD COLUMN live INTEGER NOT NULL DEFAULT 1 CHECK (live IN (0, 1));
UPDATE lots SET live = (remaining > 0);
ALTER TABLE members ADD COLUMN lot_points INTEGER NOT NULL DEFAULT 0 CHECK (lot_points >= 0);
UPDATE members SET lot_points = (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE lots.member_id = members.id);

DROP INDEX lots_live;
DROP INDEX lots_expiring;
CREATE INDEX lots_live ON lots (member_id, expires_at, id) WHERE live = 1;
CREATE INDEX lots_expiring ON lots (expires_at) WHERE live = 1;
-- The lots of pending earns (available later than booked), for the balance's `pending`.
CREATE INDEX lots_waiting ON lots (member_id, available_at) WHERE live = 1 AND available_at > created_at;

-- A lot inserted empty (none is today) starts not live.
CREATE TRIGGER lots_count AFTER INSERT ON lots WHEN NEW.remaining = 0 BEGIN
  UPDATE lots SET live = 0 WHERE id = NEW.id;
END;

DROP TRIGGER lot_movements_apply;
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

-- The member:<id> account's balance is the sum of the member's lots' remaining points (the
-- invariants check both agree), so lot_points follows the member's transfers: one row written per
-- transfer, however many lots the transaction moved.
CREATE TRIGGER transfers_member_points AFTER INSERT ON transfers
WHEN substr(NEW.from_account, 1, 7) = 'member:' OR substr(NEW.to_account, 1, 7) = 'member:' BEGIN
  UPDATE members SET lot_points = lot_points - NEW.points
   WHERE id = substr(NEW.from_account, 8) AND substr(NEW.from_account, 1, 7) = 'member:';
  UPDATE members SET lot_points = lot_points + NEW.points
   WHERE id = substr(NEW.to_account, 8) AND substr(NEW.to_account, 1, 7) = 'member:';
END;
