-- Indexes on open transactions that their queries can use. SQLite uses a partial index only when
-- the query's WHERE implies the index's WHERE term for term: `status = 'held'` does not imply
-- `status IN ('held', 'review')`, so the two IN-indexes of 0007 served no query, and every
-- batch that voids a member's lapsed holds or renders its balance scanned all of the member's
-- transactions (and the hold-expiry job every transaction). One partial index per status and
-- access path, each holding only the open rows.
DROP INDEX transactions_open;
DROP INDEX transactions_open_by_time;
-- A member's holds (lapsed ones voided in its batches; what it holds in its balance).
CREATE INDEX transactions_held ON transactions (member_id, expires_at) WHERE status = 'held';
-- The hold-expiry job: the soonest-expired holds of anyone.
CREATE INDEX transactions_held_by_expiry ON transactions (expires_at) WHERE status = 'held';
-- A member's transactions in review (pending earns, held burns in its balance).
CREATE INDEX transactions_review_member ON transactions (member_id) WHERE status = 'review';
