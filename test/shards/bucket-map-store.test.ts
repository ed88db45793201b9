import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { initialRanges } from "../../src/shards/bucket-map";
import { CoalitionNotEmptyError, loadBucketMap, spreadEmptyCoalition } from "../../src/shards/bucket-map-store";
import { shardsOf } from "../../src/shards/registry";
import { enrol, partnerWithCard, sql } from "../support/ledger";

/**
 * The bucket map in the main database (migration 0012), on the real test D1. The tests run in
 * order on one database: spreads first, while no member exists, then the refusal once one does.
 * Would fail if: the migration did not seed one range 0…4095 on shard 0 (on every database, as
 * migrations are uniform), a spread did not write the initial assignment or bump the version, a
 * spread of many shards broke D1's bind limit or half-applied, the spread wrote anything once a
 * member exists, or a shard count out of 1…256 was taken.
 */

describe("the bucket map's store", () => {
  it("is seeded by the migration with every bucket on shard 0, on every database", async () => {
    for (const shard of shardsOf(env)) {
      const map = await loadBucketMap(shard.db);
      expect(map, shard.binding).toEqual({ version: 1, ranges: [{ first: 0, last: 4095, shard: 0 }] });
    }
  });

  it("refuses bucket rows past 4095, reversed or on a shard past 255 (the table's CHECKs)", async () => {
    for (const [first, last, shard] of [
      [4096, 4096, 0],
      [10, 9, 0],
      [5000, 5001, 0],
      [4000, 4095, 256],
      [4000, 4095, -1],
    ]) {
      await expect(
        sql("INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES (?, ?, ?)", first, last, shard),
      ).rejects.toThrow(/CHECK constraint failed/);
    }
  });

  it("spreads an empty coalition by the initial assignment, one version further each time", async () => {
    const before = await loadBucketMap(env.DB);
    const four = await spreadEmptyCoalition(env.DB, 4);
    expect(four.version).toBe(before.version + 1);
    expect(four.ranges).toEqual([
      { first: 0, last: 1023, shard: 0 },
      { first: 1024, last: 2047, shard: 1 },
      { first: 2048, last: 3071, shard: 2 },
      { first: 3072, last: 4095, shard: 3 },
    ]);
    const two = await spreadEmptyCoalition(env.DB, 2);
    expect(two.version).toBe(before.version + 2);
    expect(two.ranges).toEqual(initialRanges(2));
    expect(await loadBucketMap(env.DB)).toEqual(two);
  });

  it("writes 256 ranges in one batch (several INSERTs within D1's bind limit)", async () => {
    const map = await spreadEmptyCoalition(env.DB, 256);
    expect(map.ranges).toEqual(initialRanges(256));
    expect(map.ranges.every((r) => r.last - r.first + 1 === 16)).toBe(true);
  });

  it("refuses a shard count outside 1…256 and writes nothing", async () => {
    const before = await loadBucketMap(env.DB);
    for (const n of [0, 257, 1.5, -1]) {
      await expect(spreadEmptyCoalition(env.DB, n), String(n)).rejects.toThrow(RangeError);
    }
    expect(await loadBucketMap(env.DB)).toEqual(before);
    expect((await spreadEmptyCoalition(env.DB, 1)).ranges).toEqual([{ first: 0, last: 4095, shard: 0 }]);
  });

  it("refuses once a member exists, and writes nothing: neither the ranges nor the version", async () => {
    const before = await loadBucketMap(env.DB);
    await enrol(await partnerWithCard());
    await expect(spreadEmptyCoalition(env.DB, 2)).rejects.toThrow(CoalitionNotEmptyError);
    expect(await loadBucketMap(env.DB)).toEqual(before);
  });
});
