import { settlementEntriesStatement } from "../settlement/aggregates";
import { voidExpiredHoldsChunk } from "./burn";
import { account } from "./postings";
import { newTransactionId } from "./transactions";

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
    const { results } = await db
      .prepare("SELECT id FROM lots WHERE remaining > 0 AND expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2")
      .bind(now, limits.chunk)
      .all<{ id: number }>();
    if (results.length === 0) break;
    const statements = results.flatMap(({ id }) => expireLotStatements(db, id, now));
    await db.batch(statements);
    expired += results.length;
    if (results.length < limits.chunk) break;
  }
  return { expired };
}

function expireLotStatements(db: D1Database, lotId: number, now: number): D1PreparedStatement[] {
  const txnId = newTransactionId();
  return [
    db
      .prepare(
        `INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, issue_price_micros,
           reason, occurred_at, booked_at)
         SELECT ?1, 'expiry', 'posted', issuer_id, member_id, remaining, -1, issue_price_micros, 'lot expired', expires_at, ?2
           FROM lots WHERE id = ?3 AND remaining > 0 AND expires_at <= ?2`,
      )
      .bind(txnId, now, lotId),
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at)
         SELECT ?1, l.id, 'expire', t.points, l.issuer_id, l.issue_price_micros, ?2
           FROM transactions t JOIN lots l ON l.id = ?3 WHERE t.id = ?1`,
      )
      .bind(txnId, now, lotId),
    db
      .prepare(
        `INSERT INTO postings (txn_id, account, points, at)
         SELECT ?1, 'member:' || member_id, -points, ?2 FROM transactions WHERE id = ?1
         UNION ALL SELECT ?1, ?3, points, ?2 FROM transactions WHERE id = ?1`,
      )
      .bind(txnId, now, account.breakage),
    settlementEntriesStatement(db, txnId, now),
  ];
}

/** Pending earns whose release time passed become posted (they were spendable since anyway). */
export async function releasePendingEarns(db: D1Database, now: number, limits = DEFAULT_LIMITS): Promise<{ released: number }> {
  let released = 0;
  for (let i = 0; i < limits.maxChunks; i++) {
    const r = await db
      .prepare(
        `UPDATE transactions SET status = 'posted', decided_at = ?1
          WHERE id IN (SELECT id FROM transactions WHERE status = 'pending' AND available_at <= ?1 ORDER BY available_at LIMIT ?2)`,
      )
      .bind(now, limits.chunk * 20)
      .run();
    released += r.meta.changes;
    if (r.meta.changes < limits.chunk * 20) break;
  }
  return { released };
}

/** Holds past their expiry are voided and their reserved points released. */
export async function voidExpiredHolds(db: D1Database, now: number, limits = DEFAULT_LIMITS): Promise<{ voided: number }> {
  let voided = 0;
  for (let i = 0; i < limits.maxChunks; i++) {
    const results = await db.batch(voidExpiredHoldsChunk(db, now, limits.chunk));
    const changes = results[results.length - 1]?.meta.changes ?? 0;
    voided += changes;
    if (changes < limits.chunk) break;
  }
  return { voided };
}
