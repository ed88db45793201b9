import { firstGuard } from "../db/guard";
import { raw, type Sql, sql } from "../db/sql-template";
import { periodIdAt } from "../settlement/periods";
import { voidExpiredHolds } from "./burn";
import { type FundingPlacement, fundingCreditStatements, partnerCredit } from "./funding";
import { moved, numbered, repayDebt, restoreConsumption } from "./lots";
import { memberOfTransaction } from "./member";
import { insertTransaction } from "./transactions";
import { account, transfersStatement } from "./transfers";

/**
 * Reversals (partner-api.md §5, economics.md "Ledger"): a new transaction that references the
 * original; nothing is edited. Repeatable until nothing is left (`nothing_to_reverse`). The batch
 * decides everything from the original's row: whether it is this partner's earn or burn, what is
 * left to reverse, and which of the two kinds of statements apply (each is gated on the type).
 */
export interface ReversalRequest {
  reversalId: string;
  originalId: string;
  partnerId: string;
  /** Points to reverse; null: all that is left. */
  points: number | null;
  reason: string | null;
  now: number;
  /** Where the credits land: the partner rows in this batch (default), or a shard's outbox (src/ledger/funding.ts). */
  funding?: FundingPlacement;
}

/** SQL: a column of the original transaction. */
function original(r: ReversalRequest, column: string): Sql {
  return sql`(SELECT ${raw(column)} FROM transactions WHERE id = ${r.originalId})`;
}

/** SQL: the points of the original that may still be reversed (posted/pending earn, posted burn). */
export function leftToReverse(originalId: string): Sql {
  return sql`(SELECT CASE WHEN o.type = 'earn' AND o.status IN ('posted', 'pending') THEN o.points
                     WHEN o.type = 'burn' AND o.status = 'posted' THEN COALESCE(o.captured_points, o.points) ELSE 0 END
              - (SELECT COALESCE(SUM(r.points), 0) FROM transactions r WHERE r.original_id = o.id AND r.type = 'reversal')
              FROM transactions o WHERE o.id = ${originalId})`;
}

export function reversalStatements(r: ReversalRequest): Sql[] {
  const left = leftToReverse(r.originalId);
  const points = r.points === null ? left : sql`${r.points}`;
  const member = memberOfTransaction(r.originalId);
  return [
    firstGuard([
      [
        "transaction_not_found",
        sql`NOT EXISTS (SELECT 1 FROM transactions WHERE id = ${r.originalId} AND partner_id = ${r.partnerId}
              AND type IN ('earn', 'burn'))`,
      ],
      ["nothing_to_reverse", sql`${left} <= 0 OR ${points} > ${left}`],
    ]),
    // A hold past its expiry reserves nothing: its points are the earn's unreserved points again.
    ...voidExpiredHolds(member, r.now),
    insertTransaction({
      id: r.reversalId,
      type: "reversal",
      status: "posted",
      partnerId: r.partnerId,
      member,
      points,
      direction: sql`CASE ${original(r, "type")} WHEN 'earn' THEN -1 ELSE 1 END`,
      originalId: r.originalId,
      originalPeriodId: periodIdAt(sql`COALESCE(${original(r, "settled_at")}, ${original(r, "booked_at")})`),
      reason: r.reason,
      rateCardId: original(r, "rate_card_id"),
      issuePriceMicros: original(r, "issue_price_micros"),
      redeemPriceMicros: original(r, "redeem_price_micros"),
      occurredAt: r.now,
      bookedAt: r.now,
    }),
    ...earnReversal(r, member),
    ...burnReversal(r, member),
    // Take-backs and debt repayments credit their issuers (economics.md "Funding").
    ...fundingCreditStatements(r.reversalId, r.now, r.funding),
  ];
}

/**
 * Reversal of an earn (posted or pending): takes back the earn's unreserved remaining points,
 * then its expired points (out of breakage); what is left was spent or is reserved, and becomes
 * debt: first by bringing back debts this earn had repaid, then as a new debt charged to the
 * earn's issuer at its issue price.
 */
function earnReversal(r: ReversalRequest, member: Sql): Sql[] {
  const isEarn = sql`${original(r, "type")} = 'earn'`;
  const p = sql`(SELECT points FROM transactions WHERE id = ${r.reversalId})`;
  const taken = moved(r.reversalId, ["take_back", "unexpire"]);
  const left = sql`(${p} - ${taken})`;
  const broughtBack = sql`(SELECT COALESCE(-SUM(points), 0) FROM debt_repayments WHERE txn_id = ${r.reversalId})`;
  const lot = sql`(SELECT lot_id FROM transactions WHERE id = ${r.originalId})`;
  const price = original(r, "issue_price_micros");
  return [
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, at)
      SELECT ${r.reversalId}, 1, id, 'take_back', MIN(remaining, ${p}), issuer_id, issue_price_micros, ${r.now}
        FROM lots WHERE id = ${lot} AND MIN(remaining, ${p}) > 0 AND ${isEarn}`,
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, at)
      SELECT ${r.reversalId}, ${numbered(sql`${r.reversalId}`, raw("id"))}, id, 'unexpire', MIN(expired, ${left}), issuer_id, issue_price_micros, ${r.now}
        FROM lots WHERE id = ${lot} AND MIN(expired, ${left}) > 0 AND ${isEarn}`,
    // Debts this earn repaid come back (negative repayments), newest debt first.
    sql`INSERT INTO debt_repayments (debt_id, txn_id, points, at)
      SELECT debt_id, ${r.reversalId}, -MIN(net, ${left} - before), ${r.now}
        FROM (SELECT debt_id, net,
                     COALESCE(SUM(net) OVER (ORDER BY debt_id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                FROM (SELECT debt_id, SUM(points) AS net FROM debt_repayments
                       WHERE txn_id = ${r.originalId}
                          OR txn_id IN (SELECT id FROM transactions WHERE original_id = ${r.originalId})
                       GROUP BY debt_id HAVING SUM(points) > 0))
       WHERE before < ${left} AND ${isEarn}
       ORDER BY before`,
    sql`INSERT INTO debts (member_id, issuer_id, issue_price_micros, created_by_txn, points, outstanding, created_at)
      SELECT ${member}, ${r.partnerId}, ${price}, ${r.reversalId}, ${left} - ${broughtBack}, ${left} - ${broughtBack}, ${r.now}
       WHERE ${left} - ${broughtBack} > 0 AND ${isEarn}`,
    transfersStatement(
      r.reversalId,
      r.now,
      account.issuer(r.partnerId),
      [
        { account: account.member(member), points: sql`-${moved(r.reversalId, ["take_back"])}` },
        { account: account.breakage, points: sql`-${moved(r.reversalId, ["unexpire"])}` },
        { account: account.debt(member), points: sql`-(${p} - ${taken})` },
      ],
      isEarn,
    ),
    // Points of this earn that had repaid a debt were handed back to that debt (its issuer is
    // charged again): for this earn's issuer they are taken back too, so it is credited.
    partnerCredit(
      r.reversalId,
      r.partnerId,
      sql`${broughtBack} * ${price}`,
      sql`${broughtBack} > 0 AND ${isEarn}`,
      r.now,
      r.funding ?? "in_batch",
    ),
  ];
}

/**
 * Reversal of a posted burn (or a captured hold): the points go back onto the lots they came
 * from, last consumed first, with their original expiry; restored points repay any debt first.
 */
function burnReversal(r: ReversalRequest, member: Sql): Sql[] {
  const isBurn = sql`${original(r, "type")} = 'burn'`;
  const p = sql`(SELECT points FROM transactions WHERE id = ${r.reversalId})`;
  const repaid = moved(r.reversalId, ["repay"]);
  const restored = moved(r.reversalId, ["restore"]);
  return [
    restoreConsumption(r.reversalId, r.now, r.originalId, p, isBurn),
    ...repayDebt(r.reversalId, r.now, member, "restored"),
    transfersStatement(
      r.reversalId,
      r.now,
      account.redeemed(r.partnerId),
      [
        { account: account.member(member), points: sql`${restored} - ${repaid}` },
        { account: account.debt(member), points: repaid },
      ],
      isBurn,
    ),
  ];
}
