import { guard } from "../db/guard";
import { runBatch, type Sql, sql } from "../db/sql-template";
import { ApiError } from "./errors";
import type { IdempotencyKey } from "./idempotency";

/**
 * Idempotency-Keys across shards (partner-api.md §3, docs/design/shards.md "One batch in the
 * member's shard"): a key is per partner (per scope), but at N > 1 the record of the write lives
 * on the member's shard. So the key is first claimed in main (`request_claims`, migration 0015)
 * with the request's hash and the shard that decides it: a claim with another hash is the
 * contract's 409, and a claim with this hash sends the request (and its replays) to the claim's
 * shard, whose own record decides between concurrent duplicates. A write decided on main itself
 * needs no claim: its record in main is one (a claim is taken only while main has no record for
 * the key, and main's write is refused while a claim exists), so it costs main no extra row. At
 * N = 1 nothing is claimed: main's record alone decides, as before.
 */

interface ClaimRow {
  request_hash: string;
  shard: number;
}

/**
 * The claim names the shard this request is placed on now. The same request placed again (its
 * ref turned out to be linked to a member elsewhere) moves its own claim: a record of it can only
 * be on the member's shard, since a batch placed anywhere else fails its placement guard.
 */
function insertClaim(k: IdempotencyKey, shard: number, now: number): Sql {
  return sql`INSERT INTO request_claims (scope, key, request_hash, shard, created_at)
    SELECT ${k.scope}, ${k.key}, ${k.hash}, ${shard}, ${now}
     WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = ${k.scope} AND key = ${k.key})
    ON CONFLICT (scope, key) DO UPDATE SET shard = excluded.shard WHERE request_claims.request_hash = excluded.request_hash`;
}

/** Main's own record of the key (shard 0), else its claim: the first row decides. */
export function readClaim(k: IdempotencyKey): Sql {
  return sql`SELECT request_hash, 0 AS shard FROM idempotency_keys WHERE scope = ${k.scope} AND key = ${k.key}
    UNION ALL SELECT request_hash, shard FROM request_claims WHERE scope = ${k.scope} AND key = ${k.key}`;
}

export function reusedKey(): ApiError {
  return new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request");
}

/**
 * Round one of a write on a shard other than main: the admission statements (when still due),
 * the claim and what the write decides in main (`extra`), in one batch on main. Answers the key's
 * claim (this request's for this shard, an earlier one's, or main's own record of the key: shard
 * 0) and the results of `extra`.
 */
export async function claimOnMain(
  main: D1Database,
  admission: Sql[],
  k: IdempotencyKey,
  shard: number,
  now: number,
  extra: Sql[] = [],
): Promise<{ claim: ClaimRow; results: D1Result[] }> {
  const results = await runBatch(main, [...admission, insertClaim(k, shard, now), readClaim(k), ...extra]);
  const claim = results[admission.length + 1]?.results[0] as ClaimRow | undefined;
  if (!claim) throw new Error("a claim was inserted but not read");
  return { claim, results: results.slice(admission.length + 2) };
}

/**
 * A write decided on main itself at N > 1: another request's claim of its key fails this guard
 * like a record would (the runner's replay then reads the claim: 409). A claim of this same
 * request naming another shard is its own earlier placement (see insertClaim): main decides.
 */
export function claimElsewhereGuard(k: IdempotencyKey): Sql {
  return guard(
    "idempotency_key_exists",
    sql`EXISTS (SELECT 1 FROM request_claims WHERE scope = ${k.scope} AND key = ${k.key} AND request_hash <> ${k.hash})`,
  );
}

/**
 * An answer that is not stored (a 400 decided in the shard's batch) leaves no record there, so
 * it must leave no claim either: the corrected request under the same key is a new one
 * (partner-api.md §3). Only this request's claim goes (its hash); a concurrent duplicate of the
 * same request is refused the same way.
 */
export async function releaseClaim(main: D1Database, k: IdempotencyKey): Promise<void> {
  await runBatch(main, [
    sql`DELETE FROM request_claims WHERE scope = ${k.scope} AND key = ${k.key} AND request_hash = ${k.hash}`,
  ]);
}
