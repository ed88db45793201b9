import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ID_ALPHABET, newId } from "../../src/db/ids";
import {
  BUCKETS,
  bucketOf,
  bucketOfMemberId,
  bucketsOfShard,
  memberIdInBucket,
  newMemberId,
  parseMemberIdBucket,
  shardOfBucket,
} from "../../src/shards/buckets";

/**
 * Buckets and shards (docs/design/shards.md). Known answers come from `printf 'p\0r' | sha256sum`
 * outside the code (the first 8 hex digits, as a big-endian u32, mod 4096), so they pin the
 * formula itself: the byte order, the 0x00 separator, the modulus. Would fail if: the hash input
 * or byte order changed (every existing id's bucket would move), an id stopped naming its
 * bucket, a legacy id's bucket depended on anything but the id, or shards got uneven or
 * overlapping ranges.
 */

const partnerIds = fc.stringMatching(/^[a-z0-9-]{2,40}$/);
const memberRefs = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/).filter((r) => !r.startsWith("mbr_"));
const legacyIds = fc
  .array(fc.constantFrom(...ID_ALPHABET), { minLength: 16, maxLength: 16 })
  .map((chars) => `mbr_${chars.join("")}`);
const buckets = fc.integer({ min: 0, max: BUCKETS - 1 });
const shardCounts = fc.integer({ min: 1, max: BUCKETS });

async function hashBucket(text: string): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return new DataView(digest).getUint32(0) % BUCKETS;
}

describe("bucketOf(partner_id, member_ref)", () => {
  it("is u32(SHA-256(partner_id ‖ 0x00 ‖ member_ref)[0..4]) mod 4096 (known answers)", async () => {
    expect(await bucketOf("brew-coffee", "c-1001")).toBe(0x37784301 % 4096); // 769
    expect(await bucketOf("sky-air", "M-000042")).toBe(0xe51e6e64 % 4096); // 3684
    // The separator keeps the two parts apart: the same bytes, split differently, differ.
    expect(await bucketOf("a", "bc")).toBe(0x40bb547d % 4096);
    expect(await bucketOf("ab", "c")).toBe(0x6c032e63 % 4096);
  });

  it("is deterministic, an integer in 0..4095, and the hash of the joined text", async () => {
    await fc.assert(
      fc.asyncProperty(partnerIds, memberRefs, async (p, r) => {
        const b = await bucketOf(p, r);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(await bucketOf(p, r)).toBe(b);
        expect(b).toBe(await hashBucket(`${p}\u0000${r}`));
      }),
    );
  });

  it("spreads one partner's members over the buckets and over 4 shards evenly", async () => {
    const refs = Array.from({ length: 2000 }, (_, i) => `c-${i}`);
    const all = await Promise.all(refs.map((r) => bucketOf("brew-coffee", r)));
    // 2000 into 4096 buckets: about 1582 distinct if uniform (sd ≈ 20).
    expect(new Set(all).size).toBeGreaterThan(1450);
    const perShard = [0, 0, 0, 0];
    for (const b of all) {
      const k = shardOfBucket(b, 4);
      perShard[k] = (perShard[k] ?? 0) + 1;
    }
    for (const n of perShard) expect(n).toBeGreaterThan(400); // 500 expected, sd ≈ 19
  });
});

describe("member ids: mbr_<bucket as 3 hex>_<random>", () => {
  it("round-trips every bucket, in the opaque mbr_… shape with the random part of other ids", () => {
    const seen = new Set<string>();
    for (let b = 0; b < BUCKETS; b++) {
      const id = memberIdInBucket(b);
      expect(id).toMatch(/^mbr_[0-9a-f]{3}_[0-9a-hjkmnp-tv-z]{16}$/);
      expect(id.slice(4, 7)).toBe(b.toString(16).padStart(3, "0"));
      expect(parseMemberIdBucket(id)).toBe(b);
      seen.add(id);
    }
    expect(seen.size).toBe(BUCKETS); // random parts, not a function of the bucket
    expect(newId("txn").slice(4)).toMatch(/^[0-9a-hjkmnp-tv-z]{16}$/); // the same random part as every id
  });

  it("names the bucket of bucketOf for the enrolling partner and ref", async () => {
    await fc.assert(
      fc.asyncProperty(partnerIds, memberRefs, async (p, r) => {
        const id = await newMemberId(p, r);
        expect(parseMemberIdBucket(id)).toBe(await bucketOf(p, r));
        expect(await bucketOfMemberId(id)).toBe(await bucketOf(p, r));
      }),
    );
  });

  it("refuses a bucket out of range", () => {
    for (const b of [-1, BUCKETS, 1.5, Number.NaN]) expect(() => memberIdInBucket(b)).toThrow(RangeError);
  });
});

describe("bucketOfMemberId for legacy ids (mbr_<16 symbols>, before buckets)", () => {
  it("derives the bucket from a hash of the whole id (known answers)", async () => {
    expect(await bucketOfMemberId("mbr_0123456789abcdef")).toBe(0x304e711c % 4096); // 284
    expect(await bucketOfMemberId("mbr_hist_00000")).toBe(0xe8337b86 % 4096); // the bench's synthetic ids
  });

  it("is deterministic, in range, and not parsed as the new format", async () => {
    await fc.assert(
      fc.asyncProperty(legacyIds, async (id) => {
        expect(parseMemberIdBucket(id)).toBeUndefined();
        const b = await bucketOfMemberId(id);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(await bucketOfMemberId(id)).toBe(b);
        expect(b).toBe(await hashBucket(id));
      }),
    );
  });

  it("treats near misses of the new format as legacy ids (hashed, not parsed)", async () => {
    const suffix = "0123456789abcdef";
    for (const id of [
      `mbr_ABC_${suffix}`,
      `mbr_0abc_${suffix}`,
      `mbr_0ab_${suffix}x`,
      `mbr_0ab_${suffix.slice(1)}`,
      `mbr_0ab_${"i".repeat(16)}`,
    ]) {
      expect(parseMemberIdBucket(id), id).toBeUndefined();
      expect(await bucketOfMemberId(id), id).toBe(await hashBucket(id));
    }
  });

  it("spreads legacy ids over the buckets", async () => {
    const ids = Array.from({ length: 200 }, () => newId("mbr"));
    const all = await Promise.all(ids.map(bucketOfMemberId));
    expect(new Set(all).size).toBeGreaterThan(150); // about 195 if uniform
  });
});

describe("shardOfBucket: the initial assignment", () => {
  it("gives every shard one contiguous range, all of them together every bucket once, sizes within one", () => {
    fc.assert(
      fc.property(shardCounts, (n) => {
        let next = 0;
        const sizes: number[] = [];
        for (let k = 0; k < n; k++) {
          const range = bucketsOfShard(k, n);
          expect(range.from).toBe(next);
          expect(range.count).toBe(range.to - range.from + 1);
          expect(shardOfBucket(range.from, n)).toBe(k);
          expect(shardOfBucket(range.to, n)).toBe(k);
          sizes.push(range.count);
          next = range.to + 1;
        }
        expect(next).toBe(BUCKETS);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 30 },
    );
  });

  it("agrees with bucketsOfShard for every bucket, and never moves a bucket backwards", () => {
    for (const n of [1, 2, 3, 4, 7, 64, 4096]) {
      let previous = 0;
      for (let b = 0; b < BUCKETS; b++) {
        const k = shardOfBucket(b, n);
        const range = bucketsOfShard(k, n);
        expect(b >= range.from && b <= range.to).toBe(true);
        expect(k).toBeGreaterThanOrEqual(previous);
        previous = k;
      }
    }
    expect(bucketsOfShard(0, 1)).toEqual({ from: 0, to: 4095, count: 4096 });
    expect(bucketsOfShard(1, 2)).toEqual({ from: 2048, to: 4095, count: 2048 });
  });

  it("is a pure function of bucket and shard count", () => {
    fc.assert(
      fc.property(buckets, shardCounts, (b, n) => {
        const k = shardOfBucket(b, n);
        expect(shardOfBucket(b, n)).toBe(k);
        expect(k >= 0 && k < n).toBe(true);
      }),
    );
  });

  it("refuses buckets and shard counts out of range", () => {
    expect(() => shardOfBucket(-1, 2)).toThrow(RangeError);
    expect(() => shardOfBucket(BUCKETS, 2)).toThrow(RangeError);
    expect(() => shardOfBucket(0, 0)).toThrow(RangeError);
    expect(() => shardOfBucket(0, BUCKETS + 1)).toThrow(RangeError);
    expect(() => shardOfBucket(0, 1.5)).toThrow(RangeError);
    expect(() => bucketsOfShard(2, 2)).toThrow(RangeError);
    expect(() => bucketsOfShard(-1, 2)).toThrow(RangeError);
  });
});
