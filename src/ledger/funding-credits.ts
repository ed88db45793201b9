import { all, runBatch, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { type Shard, shardsOf } from "../shards/registry";
import { fundingCreditSet } from "./funding";

/**
 * Credits decided on a shard (docs/design/shards.md "Funding"): a reversal's take-back, a debt
 * repaid or brought back. The shard's batch cannot touch main's partner row, so it writes the
 * amount the in-batch credit's own SQL computes into its outbox, `funding_credits`
 * (src/ledger/funding.ts, "reserved" placement); this job applies each row to main exactly once:
 *
 * 1. read the shard's oldest rows;
 * 2. one batch on main: for each row, the credit (`fundingCreditSet`, the in-batch SET) only if
 *    main has no record of applying it, then the record (`funding_credits_applied`, by shard and
 *    row id: an AUTOINCREMENT id is never reused);
 * 3. delete the rows on the shard.
 *
 * A crash between 2 and 3, or a second run racing the first, finds the records and applies
 * nothing twice. Credits apply in the order the shard wrote them, one by one, as the in-batch
 * statements did (a postpaid credit's MAX makes the order of credits and charges matter).
 */

/** Rows applied per shard per run (two statements each in main's batch). */
export const CREDITS_PER_SHARD = 50;
/**
 * A record is dropped this long after a run first saw its row gone from the shard: longer than
 * any run holds a read of the shard's rows before its batch on main (a Worker runs minutes), so
 * no run can still hold the row when its record goes.
 */
export const APPLIED_RECORD_MS = 3_600_000;

interface CreditRow {
  id: number;
  partner_id: string;
  micros: number;
}

/** Main's statements that apply one row once. */
function applyOnce(shard: number, row: CreditRow, now: number): Sql[] {
  const applied = sql`EXISTS (SELECT 1 FROM funding_credits_applied WHERE shard = ${shard} AND credit_id = ${row.id})`;
  return [
    sql`UPDATE partners SET ${fundingCreditSet(sql`${row.micros}`)}, updated_at = ${now}
      WHERE id = ${row.partner_id} AND NOT ${applied}`,
    sql`INSERT INTO funding_credits_applied (shard, credit_id, applied_at) VALUES (${shard}, ${row.id}, ${now})
      ON CONFLICT (shard, credit_id) DO NOTHING`,
  ];
}

/**
 * Main's records of rows below `oldest` (the smallest id the shard still holds: every row below
 * it is gone for good) are marked gone, and those marked long enough ago dropped: the records
 * stay bounded by what is in flight.
 */
function forgetGone(shard: number, oldest: number, now: number): Sql[] {
  return [
    sql`UPDATE funding_credits_applied SET gone_at = ${now} WHERE shard = ${shard} AND credit_id < ${oldest} AND gone_at IS NULL`,
    sql`DELETE FROM funding_credits_applied WHERE shard = ${shard} AND gone_at <= ${now - APPLIED_RECORD_MS}`,
  ];
}

/**
 * One shard's outbox, one chunk: how many rows this run applied (not found applied already), and
 * whether the shard's delete failed after main's batch committed (the next run deletes them).
 */
async function applyShard(main: D1Database, shard: Shard, now: number): Promise<{ applied: number; failed: boolean }> {
  const rows = await all<CreditRow>(
    shard.db,
    sql`SELECT id, partner_id, micros FROM funding_credits ORDER BY id LIMIT ${CREDITS_PER_SHARD}`,
  );
  const [oldest] = rows;
  if (!oldest) return { applied: 0, failed: false };
  for (const row of rows) {
    // Never a rounded amount: such a row stays in the outbox, and the run fails loudly.
    if (!Number.isSafeInteger(row.micros)) throw new RangeError(`funding credit ${row.id} on ${shard.id} is not exact`);
  }
  const results = await runBatch(main, [
    ...rows.flatMap((row) => applyOnce(shard.index, row, now)),
    ...forgetGone(shard.index, oldest.id, now),
  ]);
  const applied = rows.filter((_, i) => results[2 * i + 1]?.meta.changes === 1).length;
  const ids = JSON.stringify(rows.map((r) => r.id));
  try {
    await runBatch(shard.db, [sql`DELETE FROM funding_credits WHERE id IN (SELECT value FROM json_each(${ids}))`]);
  } catch (error) {
    console.error(`deleting applied funding credits on ${shard.id} failed (main has them; the next run deletes them)`, error);
    return { applied, failed: true };
  }
  return { applied, failed: false };
}

/**
 * The job: every shard's outbox (main's own too: one code path), in parallel. A shard that fails
 * is logged and counted; its rows wait for the next run, applied at most once whatever happened.
 */
export async function applyFundingCredits(env: Env, now: number): Promise<{ applied: number; failed: number }> {
  const results = await Promise.allSettled(shardsOf(env).map((shard) => applyShard(env.DB, shard, now)));
  let applied = 0;
  let failed = 0;
  results.forEach((r, i) => {
    if (r.status === "fulfilled") {
      applied += r.value.applied;
      if (r.value.failed) failed++;
    } else {
      failed++;
      console.error(`applying funding credits of shard_${i} failed`, r.reason);
    }
  });
  return { applied, failed };
}
