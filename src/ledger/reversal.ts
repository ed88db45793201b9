import { guardStatement } from "../db/guard";
import { settlementAggregateStatements } from "../settlement/aggregates";
import { voidExpiredHolds } from "./burn";
import { fundingCreditSet, fundingCreditStatements } from "./funding";
import { movedSql, repayDebt, restoreConsumption } from "./lots";
import { account, postingsStatement } from "./postings";
import { insertTransaction, type NewTransaction } from "./transactions";

/**
 * Reversals (partner-api.md §5, economics.md "Ledger"): a new transaction that references the
 * original; nothing is edited. Repeatable until nothing is left (`nothing_to_reverse`), guarded
 * inside the batch so two concurrent partial reversals cannot exceed the original.
 */

/** The sum of every reversal of ?2 (including the one this batch inserts) may not exceed `?3`. */
function nothingLeftGuard(db: D1Database, originalId: string, reversiblePoints: number): D1PreparedStatement {
  return guardStatement(
    db,
    "nothing_to_reverse",
    "(SELECT COALESCE(SUM(points), 0) FROM transactions WHERE original_id = ?1 AND type = 'reversal') > ?2",
    originalId,
    reversiblePoints,
  );
}

/**
 * Reversal of a posted burn (or a captured hold): the points go back onto the lots they came
 * from, last consumed first, with their original expiry; restored points repay any debt first.
 */
export function burnReversalStatements(
  db: D1Database,
  reversal: NewTransaction & { type: "reversal" },
  burn: { id: string; partnerId: string; consumedPoints: number },
): D1PreparedStatement[] {
  const now = reversal.bookedAt;
  const repaid = movedSql(["repay"]);
  return [
    ...voidExpiredHolds(db, reversal.memberId, now),
    insertTransaction(db, reversal),
    nothingLeftGuard(db, burn.id, burn.consumedPoints),
    restoreConsumption(db, reversal.id, now, burn.id, reversal.points),
    ...repayDebt(db, reversal.id, now, reversal.memberId, "restored"),
    postingsStatement(db, reversal.id, now, [
      { account: account.redeemed(burn.partnerId), points: `-${movedSql(["restore"])}` },
      { account: account.member(reversal.memberId), points: `${movedSql(["restore"])} - ${repaid}` },
      { account: account.debt(reversal.memberId), points: repaid },
    ]),
    ...fundingCreditStatements(db, reversal.id, now),
    ...settlementAggregateStatements(db, reversal.id, now),
  ];
}

/**
 * Reversal of an earn (posted or pending): takes back the earn's unreserved remaining points,
 * then its expired points (out of breakage); what is left was spent or is reserved, and becomes
 * debt: first by bringing back debts this earn had repaid, then as a new debt charged to the
 * earn's issuer at its issue price. Binds ?1 reversal id, ?2 now, ?3 earn id, ?4 points.
 */
export function earnReversalStatements(
  db: D1Database,
  reversal: NewTransaction & { type: "reversal" },
  earn: { id: string; partnerId: string; points: number; issuePriceMicros: number },
): D1PreparedStatement[] {
  const now = reversal.bookedAt;
  const taken = movedSql(["take_back", "unexpire"]);
  const left = `(?4 - ${taken})`;
  const broughtBack = "(SELECT COALESCE(-SUM(points), 0) FROM debt_repayments WHERE txn_id = ?1)";
  const binds = [reversal.id, now, earn.id, reversal.points] as const;
  return [
    // A hold past its expiry reserves nothing: its points are the earn's unreserved points again.
    ...voidExpiredHolds(db, reversal.memberId, now),
    insertTransaction(db, reversal),
    nothingLeftGuard(db, earn.id, earn.points),
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at)
         SELECT ?1, id, 'take_back', MIN(remaining, ?4), issuer_id, issue_price_micros, ?2
           FROM lots WHERE txn_id = ?3 AND MIN(remaining, ?4) > 0`,
      )
      .bind(...binds),
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at)
         SELECT ?1, id, 'unexpire', MIN(expired, ${left}), issuer_id, issue_price_micros, ?2
           FROM lots WHERE txn_id = ?3 AND MIN(expired, ${left}) > 0`,
      )
      .bind(...binds),
    // Debts this earn repaid come back (negative repayments), newest debt first.
    db
      .prepare(
        `INSERT INTO debt_repayments (debt_id, txn_id, points, at)
         SELECT debt_id, ?1, -MIN(net, ${left} - before), ?2
           FROM (SELECT debt_id, net,
                        COALESCE(SUM(net) OVER (ORDER BY debt_id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                   FROM (SELECT debt_id, SUM(points) AS net FROM debt_repayments
                          WHERE txn_id = ?3 OR txn_id IN (SELECT id FROM transactions WHERE original_id = ?3)
                          GROUP BY debt_id HAVING SUM(points) > 0))
          WHERE before < ${left}
          ORDER BY before`,
      )
      .bind(...binds),
    db
      .prepare(
        `INSERT INTO debts (member_id, issuer_id, issue_price_micros, created_by_txn, points, outstanding, created_at)
         SELECT ?5, ?6, ?7, ?1, ${left} - ${broughtBack}, ${left} - ${broughtBack}, ?2
          WHERE ${left} - ${broughtBack} > 0`,
      )
      .bind(...binds, reversal.memberId, earn.partnerId, earn.issuePriceMicros),
    postingsStatement(
      db,
      reversal.id,
      now,
      [
        { account: account.issuer(earn.partnerId), points: "?3" },
        { account: account.member(reversal.memberId), points: `-${movedSql(["take_back"])}` },
        { account: account.breakage, points: `-${movedSql(["unexpire"])}` },
        { account: account.debt(reversal.memberId), points: `-(?3 - ${taken})` },
      ],
      [reversal.points],
    ),
    ...fundingCreditStatements(db, reversal.id, now),
    // Points of this earn that had repaid a debt were handed back to that debt (its issuer is
    // charged again above): for this earn's issuer they are taken back too, so it is credited.
    db
      .prepare(
        `UPDATE partners SET ${fundingCreditSet(`${broughtBack} * ?3`)}, updated_at = ?2 WHERE id = ?4 AND ${broughtBack} > 0`,
      )
      .bind(reversal.id, now, earn.issuePriceMicros, earn.partnerId),
    ...settlementAggregateStatements(db, reversal.id, now),
  ];
}
