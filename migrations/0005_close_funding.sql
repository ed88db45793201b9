-- What a close does to funding (economics.md, added 2026-12-01): a close applies each partner's
-- receivable first against its exposure (never below zero), then, for a prepaid partner whose
-- funding says "receivables": "top_up", to its deposit; the rest is a payout the operator owes
-- (`payout_due`, lowered by recorded payouts). Exposure and payout_due are never negative.

ALTER TABLE partners ADD COLUMN receivables TEXT NOT NULL DEFAULT 'payout' CHECK (receivables IN ('payout', 'top_up'));
ALTER TABLE partners ADD COLUMN payout_due_micros INTEGER NOT NULL DEFAULT 0;

-- Before this migration a close credited the whole receivable to funding, so a partner that
-- redeemed more than it owed carries a negative exposure: money the operator owes it. That amount
-- moves, unchanged, to payout_due (recorded in the audit log); closed reports stay as they are.
INSERT INTO audit_log (at, actor, action, target, detail)
SELECT unixepoch() * 1000, 'migration', 'partner.exposure_to_payout_due', id,
       json_object('exposure_micros', exposure_micros, 'payout_due_micros', payout_due_micros - exposure_micros)
  FROM partners WHERE exposure_micros < 0;
UPDATE partners SET payout_due_micros = payout_due_micros - exposure_micros, exposure_micros = 0 WHERE exposure_micros < 0;

-- Assertions, not business checks (those are guards): a write that would make either negative is
-- a bug and aborts its batch.
CREATE TRIGGER partners_funding_never_negative BEFORE UPDATE OF exposure_micros, payout_due_micros ON partners
WHEN NEW.exposure_micros < 0 OR NEW.payout_due_micros < 0 BEGIN
  SELECT RAISE(ABORT, 'partner funding invariant: exposure and payout_due are never negative');
END;

-- New guard codes: the guard table is rebuilt with the full list (it never holds a row).
-- The list must equal GUARD_CODES in src/db/guard.ts (test/db/guard-codes.test.ts checks it).
DROP TABLE guard;
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
  CONSTRAINT payout_exceeds_due CHECK (name <> 'payout_exceeds_due'),
  -- The funding a close decided its split on changed before its batch committed: decide again.
  CONSTRAINT close_funding_moved CHECK (name <> 'close_funding_moved'),
  -- Last: any other name is a programming error, still aborting the batch.
  CONSTRAINT guard_unknown CHECK (name = '')
);
