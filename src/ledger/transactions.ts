import { newId } from "../db/ids";

/** A transaction row as the ledger writes it (migrations/0002_ledger.sql `transactions`). */
export interface NewTransaction {
  id: string;
  type: "earn" | "burn" | "reversal" | "expiry" | "adjustment";
  status: "posted" | "pending" | "held" | "review";
  partnerId: string;
  memberId: string;
  points: number;
  direction: 1 | -1;
  orderRef?: string | null;
  amountValue?: string | null;
  amountUnit?: string | null;
  rate?: string | null;
  multiplier?: string | null;
  rateCardId?: string | null;
  issuePriceMicros?: number | null;
  redeemPriceMicros?: number | null;
  originalId?: string | null;
  reason?: string | null;
  occurredAt: number;
  bookedAt: number;
  availableAt?: number | null;
  expiresAt?: number | null;
  contextIp?: string | null;
  contextDevice?: string | null;
}

export function newTransactionId(): string {
  return newId("txn");
}

/**
 * INSERT of a transaction. `statusSql`, when given, decides the status inside the batch (the risk
 * rules send a transaction to `review` there); it may use ?1 (the id) only.
 */
export function insertTransaction(db: D1Database, t: NewTransaction, statusSql?: string): D1PreparedStatement {
  const status = statusSql ?? "?4";
  return db
    .prepare(
      `INSERT INTO transactions (id, type, partner_id, status, member_id, points, direction, order_ref, amount_value, amount_unit,
         rate, multiplier, rate_card_id, issue_price_micros, redeem_price_micros, original_id, reason, occurred_at, booked_at,
         available_at, expires_at, context_ip, context_device)
       VALUES (?1, ?2, ?3, ${status}, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)`,
    )
    .bind(
      t.id,
      t.type,
      t.partnerId,
      t.status,
      t.memberId,
      t.points,
      t.direction,
      t.orderRef ?? null,
      t.amountValue ?? null,
      t.amountUnit ?? null,
      t.rate ?? null,
      t.multiplier ?? null,
      t.rateCardId ?? null,
      t.issuePriceMicros ?? null,
      t.redeemPriceMicros ?? null,
      t.originalId ?? null,
      t.reason ?? null,
      t.occurredAt,
      t.bookedAt,
      t.availableAt ?? null,
      t.expiresAt ?? null,
      t.contextIp ?? null,
      t.contextDevice ?? null,
    );
}

/** SQL condition: transaction ?1 was not sent to review by the risk rules in this batch. */
export const NOT_IN_REVIEW = "EXISTS (SELECT 1 FROM transactions WHERE id = ?1 AND status <> 'review')";

export interface TransactionRow {
  seq: number;
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
}

export function transactionStatement(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("SELECT * FROM transactions WHERE id = ?").bind(id);
}
