import { settlementAggregateStatements } from "../settlement/aggregates";
import { fundingCreditStatements, fundingStatements } from "./funding";
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
  return [insertTransaction(db, plan.txn, plan.statusSql), ...earnEffects(db, plan)];
}

/**
 * Everything an earn writes after its transaction row, each gated on the row not being in review.
 * Approving a review earn (src/risk/reviews.ts) writes exactly these, once the row has left review;
 * `plan.txn.bookedAt` is then the approval time (the lot's and postings' time).
 */
export function earnEffects(db: D1Database, plan: EarnPlan): D1PreparedStatement[] {
  const { txn, now } = { txn: plan.txn, now: plan.txn.bookedAt };
  const statements: D1PreparedStatement[] = [];
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
    // Repaid debt is credited to the debt's issuer as it is repaid.
    ...fundingCreditStatements(db, txn.id, now),
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
    ...settlementAggregateStatements(db, txn.id, now),
  );
  return statements;
}

const repaidSql = "(SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = ?1 AND kind = 'repay')";
