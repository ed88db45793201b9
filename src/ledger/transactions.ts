import { newId } from "../db/ids";
import { raw, type Sql, sql } from "../db/sql-template";
import { CLOSED_THROUGH } from "../settlement/periods";
import { idInBucket } from "../shards/buckets";

/**
 * Transaction rows (migrations/0007_one_batch.sql `transactions`). A row is never edited but for
 * its status (and what a status change records: captured points, decision time, the lot of an
 * approved review earn, when it settled). The member is a SQL expression: a write resolves the
 * partner's member_ref to the member inside its own batch (src/ledger/member.ts).
 */
export interface NewTransaction {
  id: string;
  type: "earn" | "burn" | "reversal" | "expiry" | "adjustment";
  status: "posted" | "pending" | "held" | "review";
  partnerId: string;
  member: Sql;
  points: number | Sql;
  direction: 1 | -1 | Sql;
  orderRef?: string | null;
  amountValue?: string | null;
  amountUnit?: string | null;
  rate?: string | null;
  multiplier?: string | null;
  rateCardId?: string | Sql | null;
  issuePriceMicros?: number | Sql | null;
  redeemPriceMicros?: number | Sql | null;
  originalId?: string | null;
  /** A reversal: the settlement period of the original (src/settlement/periods.ts periodIdAt). */
  originalPeriodId?: Sql | null;
  reason?: string | null;
  occurredAt: number;
  bookedAt: number;
  availableAt?: number | null;
  expiresAt?: number | null;
  contextIp?: string | null;
  contextDevice?: string | null;
}

/**
 * A transaction id names its member's bucket (`txn_<bucket>_…`, src/shards/buckets.ts), so a
 * request about a transaction (capture, void, reversal, review) finds the member's shard without
 * a lookup. Without a bucket (a request about a legacy transaction id, which is on shard 0), the
 * legacy shape.
 */
export function newTransactionId(bucket: number | undefined): string {
  return bucket === undefined ? newId("txn") : idInBucket("txn", bucket);
}

/** SQL: when something booked at `now` settles: now, or the end of a period closed meanwhile. */
export function settleTime(now: number): Sql {
  return sql`MAX(${now}, ${CLOSED_THROUGH})`;
}

/**
 * INSERT of a transaction. `status`, when given, decides the status inside the batch (the risk
 * rules send a transaction to review there). An earn's lot id is taken here (the next lot id), so
 * the lot the same batch inserts is found from its transaction; a transaction that settles now
 * (not held, not in review) records when.
 */
export function insertTransaction(t: NewTransaction, status: Sql = sql`${t.status}`): Sql {
  const createsLot = t.type === "earn" || (t.type === "adjustment" && t.direction === 1);
  const lotId = createsLot ? raw("(SELECT COALESCE(MAX(id), 0) + 1 FROM lots)") : raw("NULL");
  return sql`INSERT INTO transactions (id, type, partner_id, status, member_id, points, direction, order_ref, amount_value,
      amount_unit, rate, multiplier, rate_card_id, issue_price_micros, redeem_price_micros, original_id, original_period_id, reason, occurred_at,
      booked_at, available_at, expires_at, context_ip, context_device, lot_id, settled_at)
    SELECT ${t.id}, ${t.type}, ${t.partnerId}, s.status, ${t.member}, ${t.points}, ${t.direction}, ${t.orderRef ?? null},
      ${t.amountValue ?? null}, ${t.amountUnit ?? null}, ${t.rate ?? null}, ${t.multiplier ?? null}, ${t.rateCardId ?? null},
      ${t.issuePriceMicros ?? null}, ${t.redeemPriceMicros ?? null}, ${t.originalId ?? null}, ${t.originalPeriodId ?? null},
      ${t.reason ?? null},
      ${t.occurredAt}, ${t.bookedAt}, ${t.availableAt ?? null}, ${t.expiresAt ?? null}, ${t.contextIp ?? null},
      ${t.contextDevice ?? null}, CASE WHEN s.status = 'review' THEN NULL ELSE ${lotId} END,
      CASE WHEN s.status IN ('held', 'review') THEN NULL ELSE ${settleTime(t.bookedAt)} END
      FROM (SELECT ${status} AS status) s`;
}

/** SQL: transaction `txnId` exists and was not sent to review by the risk rules in this batch. */
export function notInReview(txnId: string): Sql {
  return sql`EXISTS (SELECT 1 FROM transactions WHERE id = ${txnId} AND status <> 'review')`;
}

/** SQL: a column of transaction `txnId` (inside a statement of the batch that wrote or reads it). */
export function txnColumn(txnId: string, column: string): Sql {
  return sql`(SELECT ${raw(column)} FROM transactions WHERE id = ${txnId})`;
}

export interface TransactionRow {
  id: string;
  type: NewTransaction["type"];
  status: "posted" | "pending" | "held" | "voided" | "review" | "rejected";
  partner_id: string;
  member_id: string;
  points: number;
  captured_points: number | null;
  direction: number;
  issue_price_micros: number | null;
  redeem_price_micros: number | null;
  rate_card_id: string | null;
  original_id: string | null;
  booked_at: number;
  available_at: number | null;
  expires_at: number | null;
  lot_id: number | null;
}
