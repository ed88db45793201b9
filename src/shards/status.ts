/**
 * What `GET /admin/v1/shards` says of each shard: its buckets, its members and transactions,
 * the size of its database, and whether it answered. A shard that fails or does not answer in
 * time is reported as unreachable with null figures: the operator asking is most likely looking
 * for exactly that shard, so one bad database must not turn the whole list into a 5xx.
 */
import { encodeCursor } from "../http/pagination";
import { type MapRange, rangesOfShard } from "./bucket-map";
import type { BucketRange } from "./buckets";
import type { Shard } from "./registry";

/** All of a shard's buckets: the lowest, the highest (null when it holds none) and how many. */
export interface BucketSpan {
  from: number | null;
  to: number | null;
  count: number;
}

export interface ShardStatus {
  id: string;
  binding: string;
  buckets: BucketSpan;
  /** The bucket map's ranges on this shard, in bucket order. */
  ranges: BucketRange[];
  members: number | null;
  transactions: number | null;
  database_bytes: number | null;
  reachable: boolean;
}

/** Long enough for a full count on a large shard, short enough to answer while one hangs. */
export const SHARD_STATUS_TIMEOUT_MS = 5_000;

/**
 * One statement: both counts and, from its meta, the database's size after it (D1's `size_after`,
 * no PRAGMA needed). COUNT(*) scans each table (rows read grow with the shard): an operator's
 * occasional look, not a hot path.
 */
const COUNTS_SQL = "SELECT (SELECT COUNT(*) FROM members) AS members, (SELECT COUNT(*) FROM transactions) AS transactions";

class ShardTimeout extends Error {}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ShardTimeout(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function spanOf(ranges: readonly BucketRange[]): BucketSpan {
  return {
    from: ranges[0]?.from ?? null,
    to: ranges[ranges.length - 1]?.to ?? null,
    count: ranges.reduce((n, r) => n + r.count, 0),
  };
}

/** What the bucket map says of `shard`, and what its database says of itself. */
export async function shardStatus(
  shard: Shard,
  map: readonly MapRange[],
  timeoutMs = SHARD_STATUS_TIMEOUT_MS,
): Promise<ShardStatus> {
  const ranges = rangesOfShard(map, shard.index);
  const known = { id: shard.id, binding: shard.binding, buckets: spanOf(ranges), ranges };
  try {
    const { results, meta } = await withTimeout(
      shard.db.prepare(COUNTS_SQL).all<{ members: number; transactions: number }>(),
      timeoutMs,
    );
    const row = results[0];
    if (!row) throw new Error("the count query returned no row");
    const bytes = meta.size_after;
    return {
      ...known,
      members: row.members,
      transactions: row.transactions,
      database_bytes: Number.isSafeInteger(bytes) ? bytes : null,
      reachable: true,
    };
  } catch (error) {
    console.error("shard unreachable", shard.id, error);
    return { ...known, members: null, transactions: null, database_bytes: null, reachable: false };
  }
}

/**
 * One page of shards in shard order (after the cursor's shard), each asked in parallel: a page
 * costs one round trip's time, not one per shard.
 */
export async function shardStatusPage(
  shards: readonly Shard[],
  map: readonly MapRange[],
  opts: { limit: number; after?: number; timeoutMs?: number },
): Promise<{ data: ShardStatus[]; next_cursor: string | null }> {
  const rest = shards.filter((s) => opts.after === undefined || s.index > opts.after).sort((a, b) => a.index - b.index);
  const pageShards = rest.slice(0, opts.limit);
  const last = pageShards[pageShards.length - 1];
  const data = await Promise.all(pageShards.map((s) => shardStatus(s, map, opts.timeoutMs)));
  return { data, next_cursor: rest.length > opts.limit && last ? encodeCursor({ shard: last.index }) : null };
}
