/**
 * The bucket map in the main database: `shard_buckets` (ranges) and `shard_map_version`
 * (migration 0012). Only main's copy is the map; the shards' copies of the tables stay as the
 * migration left them until the map is replicated (docs/design/shards.md, step 2).
 */
import { guard, guardViolated } from "../db/guard";
import { join, MAX_PARAMS, runBatch, type Sql, sql } from "../db/sql-template";
import { type BucketMap, BucketMapError, checkBucketMap, initialRanges, type MapRange } from "./bucket-map";
import { MAX_SHARDS } from "./registry";

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
 * Spreads the buckets over `shardCount` shards by the initial assignment (shardOfBucket), in one
 * batch that writes nothing once any member exists: with members, their buckets' data is in DB,
 * and only a bucket move may change where the map says it is. The guard reads main's members,
 * which is where every member is while nothing routes by bucket.
 *
 * Not called by any production path yet: until reads and writes are routed by bucket (design
 * step 2), the map must keep saying what is true, that everything is on shard 0. Step 2 also
 * needs enrolment to guard on the map version, or an enrolment racing this spread would land in
 * DB while the map says another shard.
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
