import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BucketMapError,
  bucketMapProblems,
  checkBucketMap,
  initialRanges,
  type MapRange,
  rangesOfShard,
  shardOfBucketIn,
} from "../../src/shards/bucket-map";
import { BUCKETS, shardOfBucket } from "../../src/shards/buckets";

/**
 * The bucket map's validator and lookups, pure. Would fail if: a map with a gap, an overlap,
 * ranges out of order, a range past 4095 or reversed, or a shard not bound (index ≥ N) passed;
 * a valid map (any contiguous cover) was refused; the initial assignment as ranges disagreed
 * with shardOfBucket; or a lookup found the wrong shard.
 */

const r = (first: number, last: number, shard = 0): MapRange => ({ first, last, shard });

/** Any valid map of `shardCount` shards: cut 0…4095 at sorted distinct points, a shard per piece. */
const validMaps = fc.integer({ min: 1, max: 256 }).chain((shardCount) =>
  fc.uniqueArray(fc.integer({ min: 1, max: BUCKETS - 1 }), { maxLength: 40 }).chain((cuts) => {
    const starts = [0, ...cuts.sort((a, b) => a - b)];
    return fc.tuple(...starts.map(() => fc.integer({ min: 0, max: shardCount - 1 }))).map((shards) => ({
      shardCount,
      ranges: starts.map((first, i) => r(first, (starts[i + 1] ?? BUCKETS) - 1, shards[i] ?? 0)),
    }));
  }),
);

describe("bucketMapProblems", () => {
  it("accepts one range 0…4095 on shard 0, the seeded map", () => {
    expect(bucketMapProblems([r(0, 4095)], 1)).toEqual([]);
  });

  it("refuses a gap, at the start, inside and at the end", () => {
    expect(bucketMapProblems([r(1, 4095)], 1)).toEqual(["range 0 (1…4095 on shard 0): buckets 0…0 are in no range"]);
    expect(bucketMapProblems([r(0, 9), r(11, 4095)], 1)).toEqual(["range 1 (11…4095 on shard 0): buckets 10…10 are in no range"]);
    expect(bucketMapProblems([r(0, 4094)], 1)).toEqual(["buckets 4095…4095 are in no range"]);
    expect(bucketMapProblems([], 1)).toEqual(["buckets 0…4095 are in no range"]);
  });

  it("refuses an overlap and ranges out of order", () => {
    expect(bucketMapProblems([r(0, 10), r(10, 4095)], 1)).toEqual([
      "range 1 (10…4095 on shard 0): overlaps the range before it (or is out of order)",
    ]);
    expect(bucketMapProblems([r(2048, 4095), r(0, 2047)], 1)).toHaveLength(2); // a gap first, then going back
  });

  it("refuses a range that is reversed or leaves 0…4095", () => {
    expect(bucketMapProblems([r(0, 4096)], 1)[0]).toMatch(/not a range of buckets/);
    expect(bucketMapProblems([r(-1, 4095)], 1)[0]).toMatch(/not a range of buckets/);
    expect(bucketMapProblems([r(0, 100), r(200, 101), r(101, 4095)], 1)[0]).toMatch(/range 1 .*not a range of buckets/);
    expect(bucketMapProblems([r(0, 1.5), r(2, 4095)], 1)[0]).toMatch(/not a range of buckets/);
  });

  it("refuses a shard index that is not below N", () => {
    expect(bucketMapProblems([r(0, 2047, 0), r(2048, 4095, 1)], 1)).toEqual([
      "range 1 (2048…4095 on shard 1): there is no shard 1 of 1",
    ]);
    expect(bucketMapProblems([r(0, 4095, -1)], 1)).toEqual(["range 0 (0…4095 on shard -1): there is no shard -1 of 1"]);
    expect(bucketMapProblems([r(0, 2047, 0), r(2048, 4095, 1)], 2)).toEqual([]);
  });

  it("accepts every contiguous cover of 0…4095 (fast-check)", () => {
    fc.assert(fc.property(validMaps, ({ ranges, shardCount }) => bucketMapProblems(ranges, shardCount).length === 0));
  });

  it("refuses every valid map with one boundary moved, one range dropped or one shard past N (fast-check)", () => {
    const broken = validMaps.chain(({ ranges, shardCount }) =>
      fc.record({
        ranges: fc.constant(ranges),
        shardCount: fc.constant(shardCount),
        at: fc.integer({ min: 0, max: ranges.length - 1 }),
        how: fc.constantFrom("shift-first", "shift-last", "drop", "shard"),
        by: fc.integer({ min: 1, max: 5 }).chain((n) => fc.constantFrom(n, -n)),
      }),
    );
    fc.assert(
      fc.property(broken, ({ ranges, shardCount, at, how, by }) => {
        const changed = ranges.map((x) => ({ ...x }));
        const target = changed[at] as MapRange;
        if (how === "shift-first") target.first += by;
        if (how === "shift-last") target.last += by;
        if (how === "drop") changed.splice(at, 1);
        if (how === "shard") target.shard = shardCount + Math.abs(by) - 1;
        expect(bucketMapProblems(changed, shardCount).length).toBeGreaterThan(0);
        expect(() => checkBucketMap(changed, shardCount)).toThrow(BucketMapError);
      }),
    );
  });
});

describe("the initial assignment as a map", () => {
  it("is valid for every N to 256 and puts each bucket where shardOfBucket does (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 0, max: BUCKETS - 1 }), (n, bucket) => {
        const ranges = initialRanges(n);
        expect(bucketMapProblems(ranges, n)).toEqual([]);
        expect(ranges).toHaveLength(n);
        expect(shardOfBucketIn(ranges, bucket)).toBe(shardOfBucket(bucket, n));
      }),
    );
  });

  it("gives each shard its ranges in bucket order, and none to a shard the map leaves out", () => {
    const ranges = [r(0, 99, 1), r(100, 2047, 0), r(2048, 4095, 1)];
    expect(rangesOfShard(ranges, 1)).toEqual([
      { from: 0, to: 99, count: 100 },
      { from: 2048, to: 4095, count: 2048 },
    ]);
    expect(rangesOfShard(ranges, 0)).toEqual([{ from: 100, to: 2047, count: 1948 }]);
    expect(rangesOfShard(ranges, 2)).toEqual([]);
    expect([0, 99, 100, 2047, 2048, 4095].map((b) => shardOfBucketIn(ranges, b))).toEqual([1, 1, 0, 0, 1, 1]);
    expect(() => shardOfBucketIn(ranges, 4096)).toThrow(BucketMapError);
  });
});
