import { firstGuard } from "../db/guard";
import { type Sql, sql } from "../db/sql-template";
import { notInReview } from "./transactions";

/**
 * Where an earn's funding is drawn and a credit lands (docs/design/shards.md "Funding"):
 * - "in_batch": on the partner row, in the write's own batch: the batch runs on main (N = 1, or a
 *   member on shard 0). The default, and what every write did before shards.
 * - "reserved": the batch runs on a shard, which cannot touch main's partner row: the draw was
 *   reserved on main before (src/ledger/funding-reservations.ts) and the batch records it
 *   (`funding_draws`); a credit is an outbox row (`funding_credits`) that main applies later
 *   (src/ledger/funding-credits.ts).
 */
export type FundingPlacement = "in_batch" | "reserved";

/**
 * Funding (economics.md "Funding and partner risk"): a prepaid partner's balance is drawn at the
 * issue price and may not go below zero; a postpaid partner's exposure may not pass its credit
 * limit. Checked and drawn inside the earn's batch, so concurrent earns cannot overdraw.
 */
export function fundingStatements(
  txnId: string,
  partnerId: string,
  points: number,
  issuePriceMicros: number,
  now: number,
): Sql[] {
  const draw = sql`(${points} * ${issuePriceMicros})`;
  return [
    firstGuard([
      [
        "partner_funds_exhausted",
        sql`${notInReview(txnId)} AND EXISTS (SELECT 1 FROM partners WHERE id = ${partnerId} AND funding_mode = 'prepaid'
              AND prepaid_balance_micros < ${draw})`,
      ],
      [
        "partner_credit_limit",
        sql`${notInReview(txnId)} AND EXISTS (SELECT 1 FROM partners WHERE id = ${partnerId} AND funding_mode = 'postpaid'
              AND exposure_micros + ${draw} > credit_limit_micros)`,
      ],
    ]),
    sql`UPDATE partners SET
        prepaid_balance_micros = prepaid_balance_micros - CASE funding_mode WHEN 'prepaid' THEN ${draw} ELSE 0 END,
        exposure_micros = exposure_micros + CASE funding_mode WHEN 'postpaid' THEN ${draw} ELSE 0 END,
        updated_at = ${now}
      WHERE id = ${partnerId} AND ${notInReview(txnId)}`,
  ];
}

/**
 * The SET clause that credits `amount` (a SQL expression in micros; negative charges) to a partner:
 * a prepaid balance rises; a postpaid exposure falls, never below zero (economics.md: exposure is
 * never negative). What a credit brings beyond the exposure (the partner had paid for issuance
 * that is now taken back) is owed back to it, as payout_due.
 */
export function fundingCreditSet(amount: Sql): Sql {
  const a = sql`(${amount})`;
  return sql`prepaid_balance_micros = prepaid_balance_micros + CASE funding_mode WHEN 'prepaid' THEN ${a} ELSE 0 END,
    exposure_micros = CASE funding_mode WHEN 'postpaid' THEN MAX(exposure_micros - ${a}, 0) ELSE exposure_micros END,
    payout_due_micros = payout_due_micros + CASE funding_mode WHEN 'postpaid' THEN MAX(${a} - exposure_micros, 0) ELSE 0 END`;
}

/**
 * Funding follows payable money (economics.md "Funding"): points taken back by an earn reversal
 * credit the issuer at the earn's issue price; points repaying a debt credit the debt's issuer at
 * the debt's price (and a debt brought back charges it again). Each statement touches only the
 * partners it credits (none, usually: an earn without debt to repay).
 */
export function fundingCreditStatements(txnId: string, now: number, placement: FundingPlacement = "in_batch"): Sql[] {
  return [takenBackCredit(txnId, now, placement), debtRepaidCredit(txnId, now, placement)];
}

/**
 * Credits `sum` (SQL in micros, correlated on `partners.id`) to each partner `partners` lists
 * (SQL: a query of one column, issuer_id). In "reserved" placement the very same SQL computes
 * the amounts, over the listed ids named `partners`, into the shard's outbox instead.
 */
function credit(txnId: string, sum: Sql, partners: Sql, now: number, placement: FundingPlacement): Sql {
  if (placement === "in_batch") {
    return sql`UPDATE partners SET ${fundingCreditSet(sum)}, updated_at = ${now} WHERE id IN (${partners})`;
  }
  return sql`INSERT INTO funding_credits (partner_id, micros, txn_id, created_at)
    SELECT id, micros, ${txnId}, ${now}
      FROM (SELECT partners.id AS id, ${sum} AS micros FROM (SELECT DISTINCT issuer_id AS id FROM (${partners})) AS partners)
     WHERE micros <> 0 ORDER BY id`;
}

/** Points taken back from lots (a reversal's take_back, an expiry undone), at the lots' issue price. */
function takenBackCredit(txnId: string, now: number, placement: FundingPlacement): Sql {
  return credit(
    txnId,
    sql`(SELECT COALESCE(SUM(mv.points * mv.issue_price_micros), 0) FROM lot_movements mv
          WHERE mv.txn_id = ${txnId} AND mv.kind IN ('take_back', 'unexpire') AND mv.issuer_id = partners.id)`,
    sql`SELECT issuer_id FROM lot_movements WHERE txn_id = ${txnId} AND kind IN ('take_back', 'unexpire')`,
    now,
    placement,
  );
}

/** Debt repaid by the transaction, at each debt's price (an earn's only credit: it takes nothing back). */
export function debtRepaidCredit(txnId: string, now: number, placement: FundingPlacement = "in_batch"): Sql {
  return credit(
    txnId,
    sql`(SELECT COALESCE(SUM(dr.points * d.issue_price_micros), 0) FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id
          WHERE dr.txn_id = ${txnId} AND d.issuer_id = partners.id)`,
    sql`SELECT d.issuer_id FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id WHERE dr.txn_id = ${txnId}`,
    now,
    placement,
  );
}

/**
 * One partner's credit of `micros` (SQL) when `when` holds (a reversal's brought-back debt): the
 * partner row's UPDATE in the batch, or the shard's outbox row (none for a zero amount).
 */
export function partnerCredit(
  txnId: string,
  partnerId: string,
  micros: Sql,
  when: Sql,
  now: number,
  placement: FundingPlacement,
): Sql {
  if (placement === "in_batch") {
    return sql`UPDATE partners SET ${fundingCreditSet(micros)}, updated_at = ${now}
      WHERE id = ${partnerId} AND ${when}`;
  }
  return sql`INSERT INTO funding_credits (partner_id, micros, txn_id, created_at)
    SELECT ${partnerId}, m.micros, ${txnId}, ${now} FROM (SELECT ${micros} AS micros) m WHERE m.micros <> 0 AND ${when}`;
}
