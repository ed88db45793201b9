import { all, runBatch, type Sql, sql } from "../db/sql-template";
import { bucketOfMemberId } from "../shards/buckets";
import { voidExpiredHoldsChunk } from "./burn";
import { newTransactionId, settleTime } from "./transactions";
import { account } from "./transfers";

/**
 * Scheduled ledger jobs. Each is bounded (a chunk per batch, a cap on batches per run) and
 * idempotent: every statement re-checks its condition inside the batch, so a job that runs
 * twice, late, or beside a request changes nothing twice.
 */

export interface JobLimits {
  chunk: number;
  maxChunks: number;
}

const DEFAULT_LIMITS: JobLimits = { chunk: 25, maxChunks: 20 };

/**
 * Lots past their expiry with points left: one `expiry` transaction per lot moves the remaining
 * points into breakage. The transaction's points come from the lot inside the batch.
 */
export async function expireLots(db: D1Database, now: number, limits = DEFAULT_LIMITS): Promise<{ expired: number }> {
  let expired = 0;
  for (let i = 0; i < limits.maxChunks; i++) {
    const due = await all<{ id: number; member_id: string }>(
      db,
      sql`SELECT id, member_id FROM lots WHERE live = 1 AND expires_at <= ${now} ORDER BY expires_at, id LIMIT ${limits.chunk}`,
    );
    if (due.length === 0) break;
    const buckets = await Promise.all(due.map(({ member_id }) => bucketOfMemberId(member_id)));
    await runBatch(
      db,
      due.flatMap(({ id }, i) => expireLotStatements(id, newTransactionId(buckets[i]), now)),
    );
    expired += due.length;
    if (due.length < limits.chunk) break;
  }
  return { expired };
}

function expireLotStatements(lotId: number, txnId: string, now: number): Sql[] {
  return [
    sql`INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, issue_price_micros,
        reason, occurred_at, booked_at, settled_at)
      SELECT ${txnId}, 'expiry', 'posted', issuer_id, member_id, remaining, -1, issue_price_micros, 'lot expired', expires_at,
             ${now}, ${settleTime(now)}
        FROM lots WHERE id = ${lotId} AND remaining > 0 AND expires_at <= ${now}`,
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, at)
      SELECT ${txnId}, 1, l.id, 'expire', t.points, l.issuer_id, l.issue_price_micros, ${now}
        FROM transactions t JOIN lots l ON l.id = ${lotId} WHERE t.id = ${txnId}`,
    sql`INSERT INTO transfers (txn_id, n, from_account, to_account, points, at)
      SELECT ${txnId}, 1, 'member:' || member_id, ${account.breakage}, points, ${now} FROM transactions WHERE id = ${txnId}`,
  ];
}

/** Pending earns whose release time passed become posted (they were spendable since anyway). */
export async function releasePendingEarns(db: D1Database, now: number, limits = DEFAULT_LIMITS): Promise<{ released: number }> {
  let released = 0;
  const chunk = limits.chunk * 20;
  for (let i = 0; i < limits.maxChunks; i++) {
    const [r] = await runBatch(db, [
      sql`UPDATE transactions SET status = 'posted', decided_at = ${now}
        WHERE id IN (SELECT id FROM transactions WHERE status = 'pending' AND available_at <= ${now} ORDER BY available_at LIMIT ${chunk})`,
    ]);
    const changes = r?.meta.changes ?? 0;
    released += changes;
    if (changes < chunk) break;
  }
  return { released };
}

/** Holds past their expiry are voided and their reserved points released. */
export async function voidExpiredHolds(db: D1Database, now: number, limits = DEFAULT_LIMITS): Promise<{ voided: number }> {
  let voided = 0;
  for (let i = 0; i < limits.maxChunks; i++) {
    const results = await runBatch(db, voidExpiredHoldsChunk(now, limits.chunk));
    const changes = results[results.length - 1]?.meta.changes ?? 0;
    voided += changes;
    if (changes < limits.chunk) break;
  }
  return { voided };
}
