/**
 * The bucket map: which shard holds each of the 4,096 buckets, as contiguous ranges
 * (docs/design/shards.md "How a request finds its shard"). Stored in the main database's
 * `shard_buckets` (src/shards/bucket-map-store.ts); pure functions here. A map is valid when
 * its ranges, in order, cover 0…4095 exactly once and name only shards that are bound.
 */
import { BUCKETS, type BucketRange, bucketsOfShard } from "./buckets";

/** One row of `shard_buckets`: buckets first…last (inclusive) are in `shard`. */
export interface MapRange {
  first: number;
  last: number;
  shard: number;
}

export interface BucketMap {
  /** `shard_map_version`: bumped by every change of the ranges. */
  version: number;
  /** In bucket order. */
  ranges: MapRange[];
}

export class BucketMapError extends Error {
  override name = "BucketMapError";
}

function isBucket(b: number): boolean {
  return Number.isInteger(b) && b >= 0 && b < BUCKETS;
}

/** What is wrong with `ranges` as the map of `shardCount` shards: empty when nothing is. */
export function bucketMapProblems(ranges: readonly MapRange[], shardCount: number): string[] {
  const problems: string[] = [];
  let next = 0; // the first bucket not yet covered
  for (const [i, r] of ranges.entries()) {
    const at = `range ${i} (${r.first}…${r.last} on shard ${r.shard})`;
    if (!isBucket(r.first) || !isBucket(r.last) || r.first > r.last) {
      problems.push(`${at}: not a range of buckets 0…${BUCKETS - 1}`);
      continue;
    }
    if (!Number.isInteger(r.shard) || r.shard < 0 || r.shard >= shardCount) {
      problems.push(`${at}: there is no shard ${r.shard} of ${shardCount}`);
    }
    if (r.first > next) problems.push(`${at}: buckets ${next}…${r.first - 1} are in no range`);
    if (r.first < next) problems.push(`${at}: overlaps the range before it (or is out of order)`);
    next = Math.max(next, r.last + 1);
  }
  if (next < BUCKETS) problems.push(`buckets ${next}…${BUCKETS - 1} are in no range`);
  return problems;
}

export function checkBucketMap(ranges: readonly MapRange[], shardCount: number): void {
  const problems = bucketMapProblems(ranges, shardCount);
  if (problems.length > 0) throw new BucketMapError(`not a bucket map of ${shardCount} shards: ${problems.join("; ")}`);
}

/** The initial assignment (shardOfBucket) as a map's ranges: one contiguous range per shard. */
export function initialRanges(shardCount: number): MapRange[] {
  return Array.from({ length: shardCount }, (_, shard) => {
    const { from, to } = bucketsOfShard(shard, shardCount);
    return { first: from, last: to, shard };
  });
}

/** The ranges `shard` holds, in bucket order (none for a shard the map gives nothing). */
export function rangesOfShard(ranges: readonly MapRange[], shard: number): BucketRange[] {
  return ranges.filter((r) => r.shard === shard).map((r) => ({ from: r.first, to: r.last, count: r.last - r.first + 1 }));
}

/** The shard that holds `bucket` in a valid map (binary search over its ranges). */
export function shardOfBucketIn(ranges: readonly MapRange[], bucket: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid] as MapRange;
    if (bucket < r.first) hi = mid - 1;
    else if (bucket > r.last) lo = mid + 1;
    else return r.shard;
  }
  throw new BucketMapError(`bucket ${bucket} is in no range of the map`);
}
