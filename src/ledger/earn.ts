import { type Sql, sql } from "../db/sql-template";
import { debtRepaidCredit, type FundingPlacement, fundingStatements } from "./funding";
import { reservedDrawStatement } from "./funding-reservations";
import { moved, repayDebt } from "./lots";
import { insertTransaction, type NewTransaction, notInReview } from "./transactions";
import { account, transfersStatement } from "./transfers";

export interface EarnPlan {
  txn: NewTransaction & { type: "earn" | "adjustment"; points: number };
  /** The issuer whose lot this is: the earning partner, or 'operator' for an adjustment credit. */
  issuerId: string;
  issuePriceMicros: number;
  lotExpiresAt: number;
  /** Draw the issuer's funding (partners only; the operator pseudo-issuer has none). */
  drawFunding: boolean;
  /** The risk rules' status decision, evaluated in the batch (see src/risk). */
  status?: Sql;
  /**
   * Where the draw and the credits happen (src/ledger/funding.ts): "in_batch" (the default) on
   * the partner row in this batch; "reserved" on a shard, drawing a reservation main made first
   * (src/ledger/funding-reservations.ts) and crediting through the shard's outbox.
   */
  funding?: FundingPlacement;
  /** "reserved": the reservation's key, when it is not the transaction's id (a review approval's). */
  fundingDrawId?: string;
}

/**
 * The statements of an earn (or an adjustment credit), in batch order: the transaction; the
 * funding guards and draw (economics.md "Funding"); the lot; debt repayment (the new points repay
 * the oldest debt first); the transfers. A transaction the risk rules sent to review writes
 * nothing else: no lot, no draw, until the operator approves.
 */
export function earnStatements(plan: EarnPlan): Sql[] {
  return [insertTransaction(plan.txn, plan.status), ...earnEffects(plan)];
}

/**
 * Everything an earn writes after its transaction row, each gated on the row not being in review.
 * Approving a review earn (src/risk/reviews.ts) writes exactly these, once the row has left review
 * and names its lot; `plan.txn.bookedAt` is then the approval time (the lot's and transfers' time).
 */
export function earnEffects(plan: EarnPlan): Sql[] {
  const { txn } = plan;
  const now = txn.bookedAt;
  const repaid = moved(txn.id, ["repay"]);
  return [
    ...(plan.drawFunding ? drawStatements(plan) : []),
    sql`INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
      SELECT t.lot_id, t.member_id, ${plan.issuerId}, t.id, ${plan.issuePriceMicros}, ${txn.points}, ${txn.points},
             ${txn.availableAt ?? now}, ${plan.lotExpiresAt}, ${now}
        FROM transactions t WHERE t.id = ${txn.id} AND t.status <> 'review'`,
    ...repayDebt(txn.id, now, txn.member, "earned_lot"),
    // Repaid debt is credited to the debt's issuer as it is repaid (an earn takes nothing back).
    debtRepaidCredit(txn.id, now, plan.funding),
    transfersStatement(
      txn.id,
      now,
      account.issuer(plan.issuerId),
      [
        { account: account.member(txn.member), points: sql`${txn.points} - ${repaid}` },
        { account: account.debt(txn.member), points: repaid },
      ],
      notInReview(txn.id),
    ),
  ];
}

/** The funding draw: checked and drawn here (main), or the record of the reservation drawn (a shard). */
function drawStatements(plan: EarnPlan): Sql[] {
  const { txn } = plan;
  if ((plan.funding ?? "in_batch") === "in_batch") {
    return fundingStatements(txn.id, plan.issuerId, txn.points, plan.issuePriceMicros, txn.bookedAt);
  }
  return [
    reservedDrawStatement({
      drawId: plan.fundingDrawId ?? txn.id,
      txnId: txn.id,
      partnerId: plan.issuerId,
      points: txn.points,
      issuePriceMicros: plan.issuePriceMicros,
      now: txn.bookedAt,
    }),
  ];
}
