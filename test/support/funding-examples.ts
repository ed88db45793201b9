import { sql } from "../../src/db/sql-template";
import { earnStatements } from "../../src/ledger/earn";
import { fundingCreditStatements, fundingStatements } from "../../src/ledger/funding";
import { reversalStatements } from "../../src/ledger/reversal";
import { approveStatements } from "../../src/risk/reviews";

/**
 * Fixed examples of the statements whose funding is drawn or credited in the batch, as the
 * in_batch mode writes them. test/shards/in-batch-statements.json holds what they were before
 * funding reservations existed (generated from this file then), so the default mode is proved
 * byte-identical: any change to their text or binds fails test/shards/funding-reservations.test.ts.
 */
export function inBatchExamples() {
  const member = sql`(SELECT member_id FROM member_links WHERE partner_id = ${"p-ex"} AND member_ref = ${"c-1"})`;
  const txn = {
    id: "txn_example",
    type: "earn" as const,
    status: "posted" as const,
    partnerId: "p-ex",
    member,
    points: 58,
    direction: 1 as const,
    occurredAt: 1_000,
    bookedAt: 2_000,
    issuePriceMicros: 10_000,
  };
  const plan = { txn, issuerId: "p-ex", issuePriceMicros: 10_000, lotExpiresAt: 9_000, drawFunding: true };
  const review = {
    id: "txn_review",
    type: "earn" as const,
    status: "review",
    partner_id: "p-ex",
    member_id: "mbr_000_x",
    points: 7,
    issue_price_micros: 10_000,
    redeem_price_micros: 8_000,
    booked_at: 1_000,
    available_at: null,
    expires_at: null,
    risk_rule_id: "cap",
  };
  const approveCtx = { now: 3_000, expiryMonths: 12, reviewTimeoutSeconds: 600, holdTtlSeconds: 900 };
  return {
    fundingStatements: fundingStatements("txn_example", "p-ex", 58, 10_000, 2_000),
    fundingCreditStatements: fundingCreditStatements("txn_rev", 2_000),
    earn: earnStatements(plan),
    earnInReviewStatus: earnStatements({ ...plan, status: sql`CASE WHEN 1 THEN 'review' END` }),
    reversal: reversalStatements({
      reversalId: "txn_rev",
      originalId: "txn_example",
      partnerId: "p-ex",
      points: null,
      reason: "r",
      now: 2_000,
    }),
    approve: approveStatements(review, approveCtx),
  };
}
