-- Routing member-owned requests by bucket (issue 11, docs/design/shards.md step 2).

-- Idempotency-Keys are per partner (per scope), not per member: at N > 1 a key is claimed in the
-- main database before the member's shard decides the write, so a key reused with another body
-- for a member on another shard is a 409, and the claim says on which shard the record is.
-- Written only at N > 1; pruned with the records (src/jobs/prune.ts).
CREATE TABLE request_claims (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 255),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX request_claims_by_age ON request_claims (created_at);

-- A partner's ref linked (with a link code) to a member whose bucket is not the ref's own
-- bucket: the row lives in the shard of the ref's bucket (bucketOf(partner_id, member_ref)) and
-- names the member, so a request by that ref finds the member's shard. Immutable once written.
CREATE TABLE link_directory (
  partner_id TEXT NOT NULL,
  member_ref TEXT NOT NULL,
  member_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (partner_id, member_ref)
) WITHOUT ROWID;

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
  -- Routing (src/shards/placement.ts): this shard's copy of the bucket map does not give it the
  -- request's bucket (the isolate's map is stale), or the partner's ref is linked to a member on
  -- another shard (the link directory names it). Neither is an answer: the request is placed again.
  CONSTRAINT bucket_elsewhere CHECK (name <> 'bucket_elsewhere'),
  CONSTRAINT member_elsewhere CHECK (name <> 'member_elsewhere'),
  -- Last: any other name is a programming error, still aborting the batch.
  CONSTRAINT guard_unknown CHECK (name = '')
);
