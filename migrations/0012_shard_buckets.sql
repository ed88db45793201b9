-- The bucket map (issue 11, docs/design/shards.md "How a request finds its shard"): which shard
-- holds each of the 4,096 member buckets, as contiguous ranges, and a version bumped by every
-- change. The map's truth is the main database's copy (DB); migrations are the same on every
-- database, so each shard gets these tables (and the seed rows below) too, and nothing reads
-- them there until the map is replicated to the shards (design step 2).
CREATE TABLE shard_buckets (
  first_bucket INTEGER PRIMARY KEY CHECK (first_bucket BETWEEN 0 AND 4095),
  last_bucket INTEGER NOT NULL CHECK (last_bucket BETWEEN first_bucket AND 4095),
  -- 0 is DB, k is SHARD_k; at most 256 shards (src/shards/registry.ts MAX_SHARDS).
  shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 255)
) WITHOUT ROWID;

CREATE TABLE shard_map_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL CHECK (version > 0)
);

-- Every member's data lives in DB today, so every bucket is on shard 0.
INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES (0, 4095, 0);
INSERT INTO shard_map_version (id, version) VALUES (1, 1);

-- A new guard code (the table never holds a row; see src/db/guard.ts GUARD_CODES).
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
  -- The bucket map is spread over the shards only while no member exists (src/shards/bucket-map-store.ts).
  CONSTRAINT members_exist CHECK (name <> 'members_exist'),
  -- Last: any other name is a programming error, still aborting the batch.
  CONSTRAINT guard_unknown CHECK (name = '')
);
