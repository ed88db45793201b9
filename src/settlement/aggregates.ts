import { CLOSED_THROUGH_SQL, sqlPeriodIdAt } from "./periods";

/**
 * What a ledger batch settles, recorded inside that batch (so a close never reads transactions).
 *
 * Appended at the end of every ledger batch: reads what the batch wrote for transaction ?1 (its
 * lot, its lot movements, its debt repayments, the reversal row itself) and records each source
 * row once as a `settlement_entries` row; a trigger adds it to `settlement_aggregates`. Rows that
 * an earlier batch of the same transaction already recorded (a hold's reservation, then its
 * capture) are skipped by their source id, so the statements are safe to run in any batch that
 * touches the transaction, any number of times.
 *
 * The settlement time of the entries is MAX(batch clock ?2, end of the last closed period): a
 * batch whose clock reading falls inside a period that was closed meanwhile settles in the next
 * open period (economics.md: a correction booked after a close settles in the next period).
 */
export function settlementAggregateStatements(db: D1Database, txnId: string, now: number): D1PreparedStatement[] {
  return [settlementEntriesStatement(db, txnId, now), originalPeriodStatement(db, txnId)];
}

/** Kinds of lot movement that settlement counts (reserve/release move no value). */
const SETTLED_MOVEMENTS = "'consume', 'capture', 'restore', 'take_back', 'unexpire', 'expire', 'repay'";

/** The entries of transaction ?1 alone (the expiry job's variant: no reversal to name). */
export function settlementEntriesStatement(db: D1Database, txnId: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO settlement_entries (txn_id, txn_type, src, src_id, kind, issuer_id, redeemer_id, points,
         issue_price_micros, redeem_price_micros, at)
       SELECT t.id, t.type, s.src, s.src_id, s.kind, s.issuer_id, s.redeemer_id, s.points, s.ip, s.rp, MAX(?2, ${CLOSED_THROUGH_SQL})
         FROM transactions t JOIN (
           SELECT 'lot' AS src, l.id AS src_id, 'issue' AS kind, l.issuer_id AS issuer_id, NULL AS redeemer_id,
                  l.points AS points, l.issue_price_micros AS ip, 0 AS rp
             FROM lots l WHERE l.txn_id = ?1
           UNION ALL
           SELECT 'movement', mv.id, CASE WHEN mv.kind IN ('consume', 'capture') THEN 'redeem' ELSE mv.kind END,
                  mv.issuer_id, mv.redeemer_id, mv.points, mv.issue_price_micros, COALESCE(mv.redeem_price_micros, 0)
             FROM lot_movements mv WHERE mv.txn_id = ?1 AND mv.kind IN (${SETTLED_MOVEMENTS})
           UNION ALL
           SELECT 'repayment', dr.id, 'debt_repaid', d.issuer_id, NULL, dr.points, d.issue_price_micros, 0
             FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id WHERE dr.txn_id = ?1
           UNION ALL
           -- An earn reversal hands points that had repaid a debt back to that debt: taken back
           -- from the reversed earn's issuer (credited), charged again to the debt's issuer.
           SELECT 'returned', dr.id, 'repaid_returned', e.partner_id, NULL, -dr.points, COALESCE(e.issue_price_micros, 0), 0
             FROM debt_repayments dr JOIN transactions r ON r.id = dr.txn_id JOIN transactions e ON e.id = r.original_id
            WHERE dr.txn_id = ?1 AND dr.points < 0 AND r.type = 'reversal'
           UNION ALL
           SELECT 'reversal', r.seq, 'reverse_issue', e.partner_id, NULL, r.points, COALESCE(e.issue_price_micros, 0), 0
             FROM transactions r JOIN transactions e ON e.id = r.original_id
            WHERE r.id = ?1 AND r.type = 'reversal' AND e.type IN ('earn', 'adjustment')
         ) AS s
        WHERE t.id = ?1 AND s.points <> 0
          AND NOT EXISTS (SELECT 1 FROM settlement_entries x WHERE x.src = s.src AND x.src_id = s.src_id)
        ORDER BY s.src, s.src_id`,
    )
    .bind(txnId, now);
}

/**
 * A reversal names the settlement period of the transaction it reverses (the period in which
 * the original's first entry settled), closed or still open, in `original_period_id`.
 */
function originalPeriodStatement(db: D1Database, txnId: string): D1PreparedStatement {
  const originalAt = `(SELECT COALESCE((SELECT MIN(e.at) FROM settlement_entries e WHERE e.txn_id = o.id), o.booked_at)
      FROM transactions o WHERE o.id = transactions.original_id)`;
  return db
    .prepare(
      `UPDATE transactions SET original_period_id = ${sqlPeriodIdAt(originalAt)}
        WHERE id = ?1 AND original_id IS NOT NULL AND original_period_id IS NULL`,
    )
    .bind(txnId);
}
