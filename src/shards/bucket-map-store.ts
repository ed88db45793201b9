/**
 * The bucket map in the main database: `shard_buckets` (ranges) and `shard_map_version`
 * (migration 0012). Only main's copy is the map; the shards' copies of the tables stay as the
 * migration left them until the map is replicated (docs/design/shards.md, step 2).
 */
import { guard, guardViolated } from "../db/guard";
import { join, MAX_PARAMS, runBatch, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { type BucketMap, BucketMapError, checkBucketMap, initialRanges, type MapRange } from "./bucket-map";
import { forgetBucketMap } from "./placement";
import { MAX_SHARDS, type Shard, shardsOf } from "./registry";

/** The map as stored, in bucket order, read in one round trip (unchecked: the caller knows N). */
export async function loadBucketMap(db: D1Database): Promise<BucketMap> {
  const [ranges, version] = await runBatch(db, [
    sql`SELECT first_bucket AS first, last_bucket AS last, shard FROM shard_buckets ORDER BY first_bucket`,
    sql`SELECT version FROM shard_map_version WHERE id = 1`,
  ]);
  const row = version?.results[0] as { version: number } | undefined;
  if (!row) throw new BucketMapError("shard_map_version has no row: are the migrations applied to DB?");
  return { version: row.version, ranges: (ranges?.results ?? []) as MapRange[] };
}

/** Rows per INSERT: 3 binds each, within D1's bind limit. */
const ROWS_PER_INSERT = Math.floor(MAX_PARAMS / 3);

function insertRanges(ranges: readonly MapRange[]): Sql[] {
  const statements: Sql[] = [];
  for (let i = 0; i < ranges.length; i += ROWS_PER_INSERT) {
    const rows = ranges.slice(i, i + ROWS_PER_INSERT).map((r) => sql`(${r.first}, ${r.last}, ${r.shard})`);
    statements.push(sql`INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES ${join(rows)}`);
  }
  return statements;
}

/** The coalition has members: its buckets stay where their data is. */
export class CoalitionNotEmptyError extends Error {
  override name = "CoalitionNotEmptyError";
}

/**
 * Writes one database's copy of the initial assignment over `shardCount` shards (shardOfBucket)
 * in one batch that writes nothing once a member exists there: with members, their buckets'
 * data is where it is, and only a bucket move may change where the map says it is.
 */
export async function spreadEmptyCoalition(db: D1Database, shardCount: number): Promise<BucketMap> {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARDS) {
    throw new RangeError(`a shard count is an integer from 1 to ${MAX_SHARDS}, not ${shardCount}`);
  }
  const ranges = initialRanges(shardCount);
  checkBucketMap(ranges, shardCount);
  try {
    await runBatch(db, [
      guard("members_exist", sql`EXISTS (SELECT 1 FROM members)`),
      sql`DELETE FROM shard_buckets`,
      ...insertRanges(ranges),
      sql`UPDATE shard_map_version SET version = version + 1 WHERE id = 1`,
    ]);
  } catch (error) {
    if (guardViolated(error) === "members_exist") {
      throw new CoalitionNotEmptyError("the coalition has members: the bucket map can only change by moving buckets");
    }
    throw error;
  }
  return loadBucketMap(db);
}

/**
 * Spreads an empty coalition over every bound shard: each shard's copy of the map first (the
 * copy its batches' placement guard reads, src/shards/placement.ts), main's last (the map
 * routers load). An enrolment racing the spread is placed by the old map (all on shard 0): its
 * batch on main fails the placement guard once main's copy moved its bucket, and it is placed
 * again. Called on an empty coalition only: by `npm start` before it seeds, and by the tests.
 */
export async function spreadOverShards(env: Env): Promise<BucketMap> {
  const [main, ...others] = shardsOf(env);
  const n = others.length + 1;
  await Promise.all(others.map((s) => spreadEmptyCoalition(s.db, n)));
  const map = await spreadEmptyCoalition((main as Shard).db, n);
  forgetBucketMap();
  return map;
}
