import { auditStatement } from "../../audit/log";
import { guard } from "../../db/guard";
import { sql } from "../../db/sql-template";
import type { CommandContext, WritePlan } from "../../http/runner";
import { burnStatements } from "../burn";
import { earnStatements } from "../earn";
import { lotExpiry } from "../expiry-policy";
import { memberById } from "../member";
import { newTransactionId } from "../transactions";
import { transactionAnswer } from "./common";

/** The operator pseudo-issuer (economics.md): adjustments are booked against it at a zero price. */
export const OPERATOR_ISSUER = "operator";

/** `POST /admin/v1/members/{member_id}/adjustments`: a goodwill credit or a correction, audited. */
export interface AdjustmentInput {
  memberId: string;
  /** Signed: a credit (> 0) or a debit (< 0). */
  points: number;
  reason: string;
  actor: string;
}

export function planAdjustment(input: AdjustmentInput, { catalogue, now, bucket }: CommandContext): WritePlan {
  const member = memberById(input.memberId);
  const txn = {
    id: newTransactionId(bucket),
    type: "adjustment" as const,
    partnerId: OPERATOR_ISSUER,
    member,
    points: Math.abs(input.points),
    reason: input.reason,
    issuePriceMicros: 0,
    redeemPriceMicros: 0,
    occurredAt: now,
    bookedAt: now,
  };
  // A credit creates an operator lot (and repays debt first); a debit consumes lots like a burn
  // and cannot exceed available.
  const statements =
    input.points > 0
      ? earnStatements({
          txn: { ...txn, status: "posted", direction: 1 },
          issuerId: OPERATOR_ISSUER,
          issuePriceMicros: 0,
          lotExpiresAt: lotExpiry(now, catalogue.settings.expiryMonths),
          drawFunding: false,
        })
      : burnStatements({ txn: { ...txn, status: "posted", direction: -1 }, redeemerId: OPERATOR_ISSUER, redeemPriceMicros: 0 });
  return {
    status: 201,
    statements: [
      guard("member_not_found", sql`NOT EXISTS (SELECT 1 FROM members WHERE id = ${input.memberId})`),
      ...statements,
      auditStatement({
        at: now,
        actor: input.actor,
        action: "member.adjust",
        target: input.memberId,
        detail: { points: input.points, reason: input.reason, transaction_id: txn.id },
      }),
    ],
    response: transactionAnswer(txn.id, now, undefined),
    describe: { member_not_found: { message: `no member ${input.memberId}`, param: "member_id" } },
  };
}
