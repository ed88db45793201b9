import { guardStatement } from "../db/guard";
import { NOT_IN_REVIEW } from "./transactions";

/**
 * Funding (economics.md "Funding and partner risk"): a prepaid partner's balance is drawn at the
 * issue price and may not go below zero; a postpaid partner's exposure may not pass its credit
 * limit. Checked and drawn inside the earn's batch, so concurrent earns cannot overdraw.
 * Binds ?1 txn id (for the review condition), ?2 partner, ?3 draw in micros.
 */
export function fundingStatements(
  db: D1Database,
  txnId: string,
  partnerId: string,
  points: number,
  issuePriceMicros: number,
  now: number,
): D1PreparedStatement[] {
  const draw = `(?3 * ?4)`;
  return [
    guardStatement(
      db,
      "partner_funds_exhausted",
      `${NOT_IN_REVIEW} AND EXISTS (SELECT 1 FROM partners WHERE id = ?2 AND funding_mode = 'prepaid' AND prepaid_balance_micros < ${draw})`,
      txnId,
      partnerId,
      points,
      issuePriceMicros,
    ),
    guardStatement(
      db,
      "partner_credit_limit",
      `${NOT_IN_REVIEW} AND EXISTS (SELECT 1 FROM partners WHERE id = ?2 AND funding_mode = 'postpaid' AND exposure_micros + ${draw} > credit_limit_micros)`,
      txnId,
      partnerId,
      points,
      issuePriceMicros,
    ),
    db
      .prepare(
        `UPDATE partners SET
           prepaid_balance_micros = prepaid_balance_micros - CASE funding_mode WHEN 'prepaid' THEN ${draw} ELSE 0 END,
           exposure_micros = exposure_micros + CASE funding_mode WHEN 'postpaid' THEN ${draw} ELSE 0 END,
           updated_at = ?5
         WHERE id = ?2 AND ${NOT_IN_REVIEW}`,
      )
      .bind(txnId, partnerId, points, issuePriceMicros, now),
  ];
}

/**
 * The SET clause that credits `amount` (a SQL expression in micros; negative charges) to a partner:
 * a prepaid balance rises; a postpaid exposure falls, never below zero (economics.md: exposure is
 * never negative). What a credit brings beyond the exposure (the partner had paid for issuance
 * that is now taken back) is owed back to it, as payout_due.
 */
export function fundingCreditSet(amount: string): string {
  const a = `(${amount})`;
  return `prepaid_balance_micros = prepaid_balance_micros + CASE funding_mode WHEN 'prepaid' THEN ${a} ELSE 0 END,
    exposure_micros = CASE funding_mode WHEN 'postpaid' THEN MAX(exposure_micros - ${a}, 0) ELSE exposure_micros END,
    payout_due_micros = payout_due_micros + CASE funding_mode WHEN 'postpaid' THEN MAX(${a} - exposure_micros, 0) ELSE 0 END`;
}

/**
 * Funding follows payable money (economics.md "Funding"): points taken back by an earn reversal
 * credit the issuer at the earn's issue price; points repaying a debt credit the debt's issuer at
 * the debt's price (and a debt brought back charges it again). Binds ?1 txn id.
 */
export function fundingCreditStatements(db: D1Database, txnId: string, now: number): D1PreparedStatement[] {
  const credit = (sumSql: string, partnersSql: string) =>
    db.prepare(`UPDATE partners SET ${fundingCreditSet(sumSql)}, updated_at = ?2 WHERE id IN (${partnersSql})`).bind(txnId, now);
  return [
    credit(
      `(SELECT COALESCE(SUM(mv.points * mv.issue_price_micros), 0) FROM lot_movements mv
         WHERE mv.txn_id = ?1 AND mv.kind IN ('take_back', 'unexpire') AND mv.issuer_id = partners.id)`,
      "SELECT issuer_id FROM lot_movements WHERE txn_id = ?1 AND kind IN ('take_back', 'unexpire')",
    ),
    credit(
      `(SELECT COALESCE(SUM(dr.points * d.issue_price_micros), 0) FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id
         WHERE dr.txn_id = ?1 AND d.issuer_id = partners.id)`,
      "SELECT d.issuer_id FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id WHERE dr.txn_id = ?1",
    ),
  ];
}
