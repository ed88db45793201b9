import { firstGuard } from "../db/guard";
import { newId } from "../db/ids";
import { all, runBatch, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { MAX_SHARDS, type Shard, shardsOf } from "../shards/registry";
import { fundingCreditSet } from "./funding";
import { notInReview } from "./transactions";

/**
 * Funding reservations (docs/design/shards.md "Funding"): the partner's position lives in main,
 * and only main's row counts, but an earn decided on another shard cannot touch main in its
 * batch. So:
 *
 * 1. a batch on main, before the shard's, checks the partner's room with the earn's own guards
 *    and draws it (`reserveFunding`), recording the reservation: no sequence of concurrent earns
 *    on any shards can pass a deposit or a credit limit, since every draw is main's conditional
 *    write;
 * 2. the earn's batch on the shard records that it drew (`reservedDrawStatement`: a
 *    `funding_draws` row 'drawn', by a plain INSERT);
 * 3. a reservation is settled from the shard's record (`settleReservations`, every minute, for
 *    those older than RESERVATION_TTL_MS; `releaseReservation` at once, for one the router knows
 *    did not draw): a row 'cancelled' is written on the shard first wherever the earn wrote none,
 *    which makes the earn's INSERT fail its PRIMARY KEY for good, so no earn commits after its
 *    money was given back; then main gives back the cancelled ones and forgets the drawn ones.
 *
 * Each step is idempotent and commits alone, so a crash anywhere is finished by the next run.
 */

/** A reservation is settled by the job once this old: far longer than any shard batch takes. */
export const RESERVATION_TTL_MS = 60_000;
/** Reservations settled per run (each costs two statements in main's batch). */
export const SETTLE_LIMIT = 100;
/**
 * A 'cancelled' draw row is kept this long: it must outlive every earn batch that could still
 * carry its key (seconds; a day is far beyond any retry). A 'drawn' one goes as soon as main has
 * settled its reservation: nothing reads it after that.
 */
export const CANCELLED_KEEP_MS = 86_400_000;
/** Old cancelled rows deleted per shard per run. */
const CLEANUP_LIMIT = 500;

export interface Reservation {
  /** The key of this attempt to draw: the earn's transaction id (a new one per attempt), or `newFundingDrawId()`. */
  txnId: string;
  partnerId: string;
  /** What the earn draws: `earnDrawMicros(points, issuePriceMicros)`. */
  micros: number;
  /** The shard whose batch will draw it. */
  shard: number;
  now: number;
}

/** What an earn of `points` at `issuePriceMicros` draws, exactly, as its batch computes it. */
export function earnDrawMicros(points: number, issuePriceMicros: number): number {
  const micros = points * issuePriceMicros;
  if (!Number.isSafeInteger(points) || !Number.isSafeInteger(issuePriceMicros) || !Number.isSafeInteger(micros) || micros < 0) {
    throw new RangeError(`a draw of ${points} points at ${issuePriceMicros} micros is not an exact amount`);
  }
  return micros;
}

/** A key for a draw that is not an earn's first (a review approval's): one per attempt. */
export function newFundingDrawId(): string {
  return newId("fdr");
}

/**
 * Statements for a batch on MAIN, run before the shard's batch: the funding guards of an earn
 * (src/ledger/funding.ts `fundingStatements`, same codes and conditions), the draw on the partner
 * row, and the reservation. An unknown partner is refused too (in a batch on main the earn's
 * own checks would have refused it; a reservation must never record money it did not draw), and
 * a second reservation under the same key fails its PRIMARY KEY.
 */
export function reserveFunding(r: Reservation): Sql[] {
  if (!Number.isSafeInteger(r.micros) || r.micros < 0) throw new RangeError(`cannot reserve ${r.micros} micros`);
  if (!Number.isInteger(r.shard) || r.shard < 0 || r.shard >= MAX_SHARDS) throw new RangeError(`no shard ${r.shard}`);
  const draw = sql`${r.micros}`;
  const partner = (condition: Sql) => sql`EXISTS (SELECT 1 FROM partners WHERE id = ${r.partnerId} AND ${condition})`;
  return [
    firstGuard([
      ["partner_not_found", sql`NOT EXISTS (SELECT 1 FROM partners WHERE id = ${r.partnerId})`],
      ["partner_funds_exhausted", partner(sql`funding_mode = 'prepaid' AND prepaid_balance_micros < ${draw}`)],
      ["partner_credit_limit", partner(sql`funding_mode = 'postpaid' AND exposure_micros + ${draw} > credit_limit_micros`)],
    ]),
    sql`UPDATE partners SET
        prepaid_balance_micros = prepaid_balance_micros - CASE funding_mode WHEN 'prepaid' THEN ${draw} ELSE 0 END,
        exposure_micros = exposure_micros + CASE funding_mode WHEN 'postpaid' THEN ${draw} ELSE 0 END,
        updated_at = ${r.now}
      WHERE id = ${r.partnerId}`,
    sql`INSERT INTO funding_reservations (txn_id, partner_id, shard, micros, created_at)
      VALUES (${r.txnId}, ${r.partnerId}, ${r.shard}, ${r.micros}, ${r.now})`,
  ];
}

export interface ReservedDraw {
  /** The reservation's key (`Reservation.txnId`). */
  drawId: string;
  /** The earn that draws (it draws nothing while in review). */
  txnId: string;
  partnerId: string;
  points: number;
  issuePriceMicros: number;
  now: number;
}

/**
 * The shard side of an earn's draw, instead of `fundingStatements`: no guard (main checked the
 * room when it reserved it) and no partner row (main's is the one that counts); the record that
 * the reservation was drawn, only when the earn draws (not in review). A plain INSERT: if the
 * reservation was released meanwhile, its 'cancelled' row makes this fail and the whole batch
 * roll back (`reservationLapsed(error)` recognises it; decide again with a new reservation).
 */
export function reservedDrawStatement(d: ReservedDraw): Sql {
  return sql`INSERT INTO funding_draws (txn_id, state, partner_id, micros, created_at)
    SELECT ${d.drawId}, 'drawn', ${d.partnerId}, (${d.points} * ${d.issuePriceMicros}), ${d.now} WHERE ${notInReview(d.txnId)}`;
}

/** Whether a shard batch failed because the reservation it drew on had been released. */
export function reservationLapsed(error: unknown): boolean {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return message.includes("UNIQUE constraint failed: funding_draws.txn_id");
}

// ---- Settling ----

interface DueReservation {
  txn_id: string;
  partner_id: string;
  shard: number;
  micros: number;
}

interface DrawRow {
  txn_id: string;
  state: "drawn" | "cancelled";
  partner_id: string | null;
  micros: number | null;
}

export interface Settled {
  /** Given back to the partner (the earn did not draw). */
  cancelled: number;
  /** Kept (the earn drew it); the reservation is forgotten. */
  drawn: number;
  /** A draw that does not match its reservation, or names no bound shard: left reserved, logged. */
  mismatched: number;
  /** Shards (or main) that did not answer: their reservations are settled by a later run. */
  failed: number;
}

/**
 * The shard's batch: a 'cancelled' row for every key that has no row yet (an earn still in
 * flight then fails), then every key's state. One statement each way, whatever the count.
 */
function cancelUndrawn(txnIds: readonly string[], now: number): Sql[] {
  const keys = JSON.stringify(txnIds);
  return [
    sql`INSERT INTO funding_draws (txn_id, state, created_at) SELECT value, 'cancelled', ${now} FROM json_each(${keys}) WHERE true
      ON CONFLICT (txn_id) DO NOTHING`,
    sql`SELECT txn_id, state, partner_id, micros FROM funding_draws WHERE txn_id IN (SELECT value FROM json_each(${keys}))`,
  ];
}

/**
 * Main's batch for one shard's states. A cancelled reservation gives back exactly its own
 * micros, read from its row in this batch (`fundingCreditSet`: the inverse of the draw; on a
 * postpaid partner whose exposure a close lowered meanwhile, the part beyond it is owed back as
 * payout_due, as if the draw had never been made), and goes; a drawn one just goes. Every
 * statement names the reservation by key and shard, so a second run finds nothing to do.
 */
function settleOnMain(shard: number, draws: readonly DrawRow[], now: number): Sql[] {
  return draws.flatMap((d) => {
    const mine = sql`txn_id = ${d.txn_id} AND shard = ${shard}`;
    if (d.state === "drawn") {
      return [sql`DELETE FROM funding_reservations WHERE ${mine} AND partner_id = ${d.partner_id} AND micros = ${d.micros}`];
    }
    return [
      sql`UPDATE partners SET ${fundingCreditSet(sql`(SELECT micros FROM funding_reservations WHERE ${mine})`)}, updated_at = ${now}
        WHERE id = (SELECT partner_id FROM funding_reservations WHERE ${mine})`,
      sql`DELETE FROM funding_reservations WHERE ${mine}`,
    ];
  });
}

/** A drawn row that is not what was reserved (a caller's bug): never settled, so the money stays reserved. */
function matches(d: DrawRow, r: DueReservation): boolean {
  return d.state === "cancelled" || (d.partner_id === r.partner_id && d.micros === r.micros);
}

/** Settles `due` (all on `shard`): the shard's batch, then main's. */
async function settleOnShard(main: D1Database, shard: Shard, due: readonly DueReservation[], now: number): Promise<Settled> {
  const results = await runBatch(
    shard.db,
    cancelUndrawn(
      due.map((r) => r.txn_id),
      now,
    ),
  );
  const draws = (results[1]?.results ?? []) as DrawRow[];
  const byKey = new Map(draws.map((d) => [d.txn_id, d]));
  const settled: DrawRow[] = [];
  let mismatched = 0;
  for (const r of due) {
    const d = byKey.get(r.txn_id);
    if (d && matches(d, r)) settled.push(d);
    else {
      mismatched++;
      console.error(`funding reservation ${r.txn_id} on ${shard.id}: drawn ${JSON.stringify(d)}, reserved ${JSON.stringify(r)}`);
    }
  }
  if (settled.length > 0) await runBatch(main, settleOnMain(shard.index, settled, now));
  await forgetDraws(shard, settled, now);
  const cancelled = settled.filter((d) => d.state === "cancelled").length;
  return { cancelled, drawn: settled.length - cancelled, mismatched, failed: 0 };
}

/**
 * The shard's draw rows that nothing needs any more: the drawn ones main has just settled (a
 * settle that still held them finds no row, writes 'cancelled' and finds no reservation to give
 * back), and cancelled ones past CANCELLED_KEEP_MS. Only housekeeping: a failure is logged, and a
 * drawn row it leaves is never read again.
 */
async function forgetDraws(shard: Shard, settled: readonly DrawRow[], now: number): Promise<void> {
  const drawn = JSON.stringify(settled.filter((d) => d.state === "drawn").map((d) => d.txn_id));
  try {
    await runBatch(shard.db, [
      sql`DELETE FROM funding_draws WHERE state = 'drawn' AND txn_id IN (SELECT value FROM json_each(${drawn}))`,
      sql`DELETE FROM funding_draws WHERE txn_id IN (SELECT txn_id FROM funding_draws
            WHERE state = 'cancelled' AND created_at <= ${now - CANCELLED_KEEP_MS} LIMIT ${CLEANUP_LIMIT})`,
    ]);
  } catch (error) {
    console.error(`cleaning up funding draws on ${shard.id} failed`, error);
  }
}

function sum(parts: readonly Settled[]): Settled {
  const total: Settled = { cancelled: 0, drawn: 0, mismatched: 0, failed: 0 };
  for (const p of parts) {
    total.cancelled += p.cancelled;
    total.drawn += p.drawn;
    total.mismatched += p.mismatched;
    total.failed += p.failed;
  }
  return total;
}

/**
 * The job: reservations older than RESERVATION_TTL_MS, oldest first, at most SETTLE_LIMIT,
 * settled per shard in parallel. A shard that fails is logged and counted; its reservations
 * stay (the partner's room stays drawn: strict) until a run reaches it.
 */
export async function settleReservations(env: Env, now: number): Promise<Settled> {
  const due = await all<DueReservation>(
    env.DB,
    sql`SELECT txn_id, partner_id, shard, micros FROM funding_reservations WHERE created_at <= ${now - RESERVATION_TTL_MS}
         ORDER BY created_at, txn_id LIMIT ${SETTLE_LIMIT}`,
  );
  const shards = shardsOf(env);
  const byShard = new Map<number, DueReservation[]>();
  for (const r of due) byShard.set(r.shard, [...(byShard.get(r.shard) ?? []), r]);
  const runs = [...byShard].map(async ([index, rows]): Promise<Settled> => {
    const shard = shards[index];
    if (!shard) {
      console.error(`funding reservations name shard ${index}, which is not bound`);
      return { cancelled: 0, drawn: 0, mismatched: rows.length, failed: 0 };
    }
    try {
      return await settleOnShard(env.DB, shard, rows, now);
    } catch (error) {
      console.error(`settling funding reservations on ${shard.id} failed`, error);
      return { cancelled: 0, drawn: 0, mismatched: 0, failed: 1 };
    }
  });
  return sum(await Promise.all(runs));
}

/**
 * Settles one reservation now, whatever its age: for the router, right after a shard batch that
 * failed or sent the earn to review (it drew nothing, and now never will). `shard` is the one
 * the reservation names (main's statements check it). The same two batches as the job; an error
 * leaves the reservation to the job. Answers the draw's state.
 */
export async function releaseReservation(
  env: Env,
  shard: Shard,
  txnId: string,
  now = Date.now(),
): Promise<"cancelled" | "drawn"> {
  const results = await runBatch(shard.db, cancelUndrawn([txnId], now));
  const draw = (results[1]?.results ?? [])[0] as DrawRow | undefined;
  if (!draw) throw new Error(`no funding draw ${txnId} on ${shard.id} after writing one`);
  // A drawn one goes only if it is what was reserved (the DELETE says so); else the job reports it.
  const settled = await runBatch(env.DB, settleOnMain(shard.index, [draw], now));
  if (draw.state === "drawn" && settled[0]?.meta.changes === 1) await forgetDraws(shard, [draw], now);
  return draw.state;
}
