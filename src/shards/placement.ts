/**
 * Where a member-owned request runs (docs/design/shards.md "How a request finds its shard"): the
 * member's bucket, and the shard the bucket map gives it. Nothing here reads a shard on the
 * happy path: the map is cached per isolate (from main, checked against the bound shards), a
 * bucket comes from the request (a partner's ref hashes to it, an id names it), and a linked ref
 * of another partner is learnt once from the link directory and cached for good (immutable).
 * The batch that runs on the shard carries `placementGuard`, so a stale map or a ref linked
 * elsewhere fails it, commits nothing, and the request is placed again.
 */
import { firstGuard } from "../db/guard";
import { first, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { checkBucketMap } from "./bucket-map";
import { loadBucketMap } from "./bucket-map-store";
import { bucketOf, bucketOfMemberId, parseIdBucket } from "./buckets";
import { type Shard, shardsOf } from "./registry";

/** What a request is about, as the route knows it. */
export type Target =
  /** A partner's member_ref (its own enrolment, or a link to a member elsewhere). */
  | { partnerId: string; memberRef: string }
  | { memberId: string }
  /** A transaction id (`txn_<bucket>_…` names its member's bucket; a legacy id is on shard 0). */
  | { transactionId: string }
  /** A bucket already known (a link code names its member's). */
  | { bucket: number };

export interface Placement {
  shard: Shard;
  /** The member's bucket; undefined for a legacy transaction id (shard 0). */
  bucket: number | undefined;
  /** A partner's ref placed by its own hash: the batch must check the member is in that bucket. */
  ref?: { partnerId: string; memberRef: string };
  /** More than one shard is bound. */
  sharded: boolean;
}

interface CachedMap {
  version: number;
  shardOf: Uint8Array;
}

let cachedMap: Promise<CachedMap> | undefined;

/** The bucket map of this isolate, loaded from main and checked against the bound shards. */
function bucketMap(env: Env, shardCount: number): Promise<CachedMap> {
  if (!cachedMap) {
    cachedMap = loadBucketMap(env.DB).then((map) => {
      checkBucketMap(map.ranges, shardCount);
      const shardOf = new Uint8Array(4096);
      for (const r of map.ranges) shardOf.fill(r.shard, r.first, r.last + 1);
      return { version: map.version, shardOf };
    });
    cachedMap.catch(() => {
      cachedMap = undefined;
    });
  }
  return cachedMap;
}

/** After a batch found the map stale (a bucket_elsewhere guard), or a change this isolate made. */
export function forgetBucketMap(): void {
  cachedMap = undefined;
}

/** Links of partners' refs to members in other buckets, learnt from the directory: immutable, so never stale. */
const learntLinks = new Map<string, string>();
/** A bound on the cache (a Worker isolate's memory is 128 MB); the oldest entries go first. */
const MAX_LEARNT_LINKS = 50_000;

function linkKey(partnerId: string, memberRef: string): string {
  return `${partnerId}\u0000${memberRef}`;
}

/** Forgets every learnt link (an isolate that never saw them: the tests' way to be one). */
export function forgetLearntLinks(): void {
  learntLinks.clear();
}

export function learnLink(partnerId: string, memberRef: string, memberId: string): void {
  if (learntLinks.size >= MAX_LEARNT_LINKS) {
    const oldest = learntLinks.keys().next().value;
    if (oldest !== undefined) learntLinks.delete(oldest);
  }
  learntLinks.set(linkKey(partnerId, memberRef), memberId);
}

async function bucketOfTarget(target: Target): Promise<{ bucket: number | undefined; byRef: boolean }> {
  if ("bucket" in target) return { bucket: target.bucket, byRef: false };
  if ("memberId" in target) return { bucket: await bucketOfMemberId(target.memberId), byRef: false };
  if ("transactionId" in target) return { bucket: parseIdBucket("txn", target.transactionId), byRef: false };
  const linked = learntLinks.get(linkKey(target.partnerId, target.memberRef));
  if (linked !== undefined) return { bucket: await bucketOfMemberId(linked), byRef: false };
  return { bucket: await bucketOf(target.partnerId, target.memberRef), byRef: true };
}

/** The shard and bucket of a request. At N = 1 the map is not read: everything is on DB. */
export async function place(env: Env, target: Target): Promise<Placement> {
  const shards = shardsOf(env);
  const { bucket, byRef } = await bucketOfTarget(target);
  const ref = byRef && "partnerId" in target ? { ref: { partnerId: target.partnerId, memberRef: target.memberRef } } : {};
  const main = shards[0] as Shard;
  if (shards.length === 1 || bucket === undefined) return { shard: main, bucket, sharded: shards.length > 1, ...ref };
  const map = await bucketMap(env, shards.length);
  const shard = shards[map.shardOf[bucket] ?? 0] ?? main;
  return { shard, bucket, sharded: true, ...ref };
}

/** SQL: the member a partner's ref names on this shard, by its link or by the directory. */
function memberOfRefHere(partnerId: string, memberRef: string): Sql {
  return sql`COALESCE((SELECT member_id FROM member_links WHERE partner_id = ${partnerId} AND member_ref = ${memberRef}),
    (SELECT member_id FROM link_directory WHERE partner_id = ${partnerId} AND member_ref = ${memberRef}))`;
}

/**
 * The guards that open a placed batch: the shard's own copy of the map gives it the bucket (at
 * N > 1), and a ref placed by its hash names a member of that bucket (a linked ref names a member
 * elsewhere: at N > 1 it may be on another shard, and at any N the transaction ids a write mints
 * carry the member's bucket). Legacy member ids (no bucket in them) are on shard 0 and pass.
 */
export function placementGuard(p: Placement, o: { mintsIds: boolean }): Sql[] {
  const checks: ["bucket_elsewhere" | "member_elsewhere", Sql][] = [];
  if (p.sharded && p.bucket !== undefined) {
    checks.push([
      "bucket_elsewhere",
      sql`NOT EXISTS (SELECT 1 FROM shard_buckets WHERE first_bucket <= ${p.bucket} AND last_bucket >= ${p.bucket}
            AND shard = ${p.shard.index})`,
    ]);
  }
  // A read at N = 1 needs neither: everything is here, and it mints nothing.
  if (p.ref && p.bucket !== undefined && (p.sharded || o.mintsIds)) {
    const m = memberOfRefHere(p.ref.partnerId, p.ref.memberRef);
    const prefix = `mbr_${p.bucket.toString(16).padStart(3, "0")}_`;
    checks.push(["member_elsewhere", sql`COALESCE(substr(${m}, 8, 1) = '_' AND substr(${m}, 1, 8) <> ${prefix}, 0)`]);
  }
  return checks.length === 0 ? [] : [firstGuard(checks)];
}

/** After a member_elsewhere guard: learns the member the ref names (from where it was placed), and places again. */
export async function learnMemberOf(p: Placement): Promise<void> {
  if (!p.ref) throw new Error("member_elsewhere on a batch not placed by a ref");
  const row = await first<{ member_id: string | null }>(
    p.shard.db,
    sql`SELECT ${memberOfRefHere(p.ref.partnerId, p.ref.memberRef)} AS member_id`,
  );
  if (!row?.member_id) throw new Error("member_elsewhere, but the ref names no member here");
  learnLink(p.ref.partnerId, p.ref.memberRef, row.member_id);
}

/**
 * The member a partner's ref names, and its shard, for a reader with no batch of its own to
 * guard (the operator's member screens): the ref's shard says, by its link or its directory.
 */
export async function memberOfRefAcrossShards(env: Env, partnerId: string, memberRef: string): Promise<string | undefined> {
  const at = await place(env, { partnerId, memberRef });
  const row = await first<{ member_id: string | null }>(
    at.shard.db,
    sql`SELECT ${memberOfRefHere(partnerId, memberRef)} AS member_id`,
  );
  return row?.member_id ?? undefined;
}

/** The database of a member's shard (by its id). */
export async function shardOfMember(env: Env, memberId: string): Promise<D1Database> {
  return (await place(env, { memberId })).shard.db;
}
