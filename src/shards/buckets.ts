/**
 * Buckets and shards (docs/design/shards.md "How a request finds its shard"). A member belongs
 * to one of BUCKETS virtual buckets, chosen once at enrolment and written into its id; the
 * bucket map assigns buckets to shards (databases), so shards can be added later by moving
 * buckets, never by rewriting member ids. Pure functions; hashing is Web Crypto's SHA-256,
 * which is async (no hash library needed: every caller is already async).
 */
import { ID_ALPHABET, randomIdPart } from "../db/ids";

/** Fixed forever: member ids carry their bucket (3 hex digits), and 4096 divides 2^32 (no modulo bias). */
export const BUCKETS = 4096;

const encoder = new TextEncoder();

/** The first 4 bytes of SHA-256(bytes) as a big-endian u32, mod BUCKETS. */
async function bucketOfBytes(bytes: Uint8Array): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return new DataView(digest).getUint32(0, false) % BUCKETS;
}

/**
 * The bucket of a member enrolled by `partnerId` under `memberRef`:
 * u32(SHA-256(partner_id ‖ 0x00 ‖ member_ref)[0..4]) mod 4096. The 0x00 separates the two
 * (neither a partner id nor a member_ref can contain it), so ("ab", "c") and ("a", "bc") differ.
 */
export async function bucketOf(partnerId: string, memberRef: string): Promise<number> {
  const partner = encoder.encode(partnerId);
  const ref = encoder.encode(memberRef);
  const input = new Uint8Array(partner.length + 1 + ref.length);
  input.set(partner, 0);
  input[partner.length] = 0;
  input.set(ref, partner.length + 1);
  return bucketOfBytes(input);
}

function checkBucket(bucket: number): void {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS) {
    throw new RangeError(`a bucket is an integer from 0 to ${BUCKETS - 1}, not ${bucket}`);
  }
}

/** `<prefix>_<bucket, 3 lowercase hex>_<16 symbols of the id alphabet>`: an id that names its member's bucket. */
function idPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}_([0-9a-f]{3})_[${ID_ALPHABET}]{16}$`);
}
const ID_PATTERNS = new Map<string, RegExp>();

/** A fresh id (`mbr`, `txn`) in `bucket`. */
export function idInBucket(prefix: string, bucket: number): string {
  checkBucket(bucket);
  return `${prefix}_${bucket.toString(16).padStart(3, "0")}_${randomIdPart()}`;
}

/** The bucket an id of the current format names, or undefined for a legacy id (`<prefix>_<16 symbols>`). */
export function parseIdBucket(prefix: string, id: string): number | undefined {
  let pattern = ID_PATTERNS.get(prefix);
  if (!pattern) {
    pattern = idPattern(prefix);
    ID_PATTERNS.set(prefix, pattern);
  }
  const hex = pattern.exec(id)?.[1];
  return hex === undefined ? undefined : Number.parseInt(hex, 16);
}

/** A fresh member id in `bucket`. */
export function memberIdInBucket(bucket: number): string {
  return idInBucket("mbr", bucket);
}

/** The id a member enrolled by (partner, member_ref) gets: it names the bucket of bucketOf forever. */
export async function newMemberId(partnerId: string, memberRef: string): Promise<string> {
  return memberIdInBucket(await bucketOf(partnerId, memberRef));
}

/** The bucket a member id of the current format names, or undefined for a legacy id (`mbr_<16 symbols>`). */
export function parseMemberIdBucket(memberId: string): number | undefined {
  return parseIdBucket("mbr", memberId);
}

/**
 * The bucket of any member id: the one it names, or, for members enrolled before buckets
 * existed, u32(SHA-256(id)[0..4]) mod 4096 (deterministic, so every isolate agrees).
 */
export async function bucketOfMemberId(memberId: string): Promise<number> {
  return parseMemberIdBucket(memberId) ?? bucketOfBytes(encoder.encode(memberId));
}

function checkShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > BUCKETS) {
    throw new RangeError(`a shard count is an integer from 1 to ${BUCKETS}, not ${shardCount}`);
  }
}

/**
 * The initial assignment: shard k of n holds the contiguous buckets [⌈k·4096/n⌉, ⌈(k+1)·4096/n⌉),
 * so shard sizes differ by at most one bucket. (Later moves change the bucket map, not this.)
 */
export function shardOfBucket(bucket: number, shardCount: number): number {
  checkBucket(bucket);
  checkShardCount(shardCount);
  return Math.floor((bucket * shardCount) / BUCKETS);
}

export interface BucketRange {
  from: number;
  /** Inclusive. */
  to: number;
  count: number;
}

/** The buckets shardOfBucket gives `shard` of `shardCount`, as one inclusive range. */
export function bucketsOfShard(shard: number, shardCount: number): BucketRange {
  checkShardCount(shardCount);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
    throw new RangeError(`shard ${shard} is not one of 0 to ${shardCount - 1}`);
  }
  const from = Math.ceil((shard * BUCKETS) / shardCount);
  const end = Math.ceil(((shard + 1) * BUCKETS) / shardCount);
  return { from, to: end - 1, count: end - from };
}
