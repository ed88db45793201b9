-- Funding across shards (docs/design/shards.md "Funding", src/ledger/funding-reservations.ts and
-- funding-credits.ts). A partner's funding position stays in main, and only main's row counts; an
-- earn decided on another shard cannot touch it in its batch, so:
--   main:  funding_reservations   what a batch on main drew for an earn still to be decided on a
--                                 shard, until a job settles it (kept: drawn; given back: cancelled);
--          funding_credits_applied  which shard outbox rows main has applied (exactly once).
--   shard: funding_draws          the earn's own record that it drew (state 'drawn', written in its
--                                 batch), or the release's 'cancelled' written first, which makes the
--                                 earn's plain INSERT fail its PRIMARY KEY: an earn never commits
--                                 after its reservation was given back;
--          funding_credits        credits a shard batch decided (take-backs, debt repaid), an outbox
--                                 main applies and the shard then deletes.
-- Every database has every table (one set of migrations); a table a database does not own stays empty.

CREATE TABLE funding_reservations (
  -- The key of one attempt to draw: an earn's transaction id, or a review approval's draw id.
  txn_id TEXT PRIMARY KEY,
  partner_id TEXT NOT NULL,
  shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 255),
  micros INTEGER NOT NULL CHECK (micros >= 0),
  created_at INTEGER NOT NULL
);
CREATE INDEX funding_reservations_by_age ON funding_reservations (created_at, txn_id);

CREATE TABLE funding_draws (
  txn_id TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('drawn', 'cancelled')),
  -- What was drawn (a 'drawn' row's; a release does not know them and writes NULL).
  partner_id TEXT,
  micros INTEGER,
  created_at INTEGER NOT NULL,
  CHECK (state = 'cancelled' OR (partner_id IS NOT NULL AND micros IS NOT NULL AND micros >= 0))
);
-- The job's cleanup: cancelled rows once no earn batch can still arrive.
CREATE INDEX funding_draws_by_age ON funding_draws (state, created_at);
-- A draw's state decides whose money it is: it is written once and never changes.
CREATE TRIGGER funding_draws_immutable BEFORE UPDATE ON funding_draws BEGIN
  SELECT RAISE(ABORT, 'funding_draws rows are never updated');
END;

CREATE TABLE funding_credits (
  -- AUTOINCREMENT: an id is never reused, so (shard, id) names one credit forever in main's record.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  partner_id TEXT NOT NULL,
  -- A credit (positive) or a charge (negative: a debt brought back), as fundingCreditSet takes it.
  micros INTEGER NOT NULL CHECK (micros <> 0),
  txn_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- A record may go only once nothing can apply its credit again: some time after a run first saw
-- the shard's row gone (`gone_at`), longer than any run holds a read of the shard's rows.
CREATE TABLE funding_credits_applied (
  shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 255),
  credit_id INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  gone_at INTEGER,
  PRIMARY KEY (shard, credit_id)
) WITHOUT ROWID;
