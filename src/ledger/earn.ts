import { guardStatement } from "../db/guard";
import { repayDebt } from "./lots";
import { account, postingsStatement } from "./postings";
import { insertTransaction, type NewTransaction, NOT_IN_REVIEW } from "./transactions";

export interface EarnPlan {
  txn: NewTransaction & { type: "earn" | "adjustment" };
  /** The issuer whose lot this is: the earning partner, or 'operator' for an adjustment credit. */
  issuerId: string;
  issuePriceMicros: number;
  lotExpiresAt: number;
  /** Draw the issuer's funding (partners only; the operator pseudo-issuer has none). */
  drawFunding: boolean;
  /** Risk rules' status decision, evaluated in the batch (see src/risk). */
  statusSql?: string;
}

/**
 * The statements of an earn (or an adjustment credit), in batch order:
 * the transaction; the funding guards and draw (economics.md "Funding"); the lot; debt repayment
 * (the new points repay the oldest debt first); the postings. A transaction the risk rules sent
 * to review writes nothing else: no lot, no draw, until the operator approves.
 */
export function earnStatements(db: D1Database, plan: EarnPlan): D1PreparedStatement[] {
  const { txn, now } = { txn: plan.txn, now: plan.txn.bookedAt };
  const statements = [insertTransaction(db, txn, plan.statusSql)];
  if (plan.drawFunding) statements.push(...fundingStatements(db, txn.id, plan.issuerId, txn.points, plan.issuePriceMicros, now));
  statements.push(
    db
      .prepare(
        `INSERT INTO lots (member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
         SELECT ?2, ?3, ?1, ?4, ?5, ?5, ?6, ?7, ?8 WHERE ${NOT_IN_REVIEW}`,
      )
      .bind(
        txn.id,
        txn.memberId,
        plan.issuerId,
        plan.issuePriceMicros,
        txn.points,
        txn.availableAt ?? now,
        plan.lotExpiresAt,
        now,
      ),
    ...repayDebt(db, txn.id, now, txn.memberId, "earned_lot"),
    postingsStatement(
      db,
      txn.id,
      now,
      [
        { account: account.issuer(plan.issuerId), points: `-?3` },
        { account: account.member(txn.memberId), points: `?3 - ${repaidSql}` },
        { account: account.debt(txn.memberId), points: repaidSql },
      ],
      [txn.points],
      NOT_IN_REVIEW,
    ),
  );
  return statements;
}

const repaidSql = "(SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = ?1 AND kind = 'repay')";

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
