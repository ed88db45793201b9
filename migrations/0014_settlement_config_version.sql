-- The schedule is copied from main to every shard (src/settlement/across-shards.ts): a shard's
-- bookings name the periods they settle in by it. `version` orders the copies: each change in
-- main adds one, and a shard takes a copy only if it is not older than what it holds.
ALTER TABLE settlement_config ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
