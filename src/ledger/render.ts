import { shiftParams, sqlInt, sqlJsonWithoutNulls, sqlScaledText, sqlTime } from "../db/sql";
import type { SqlJson } from "../http/idempotency";

/**
 * The ledger's objects rendered by SQL, so a response stored inside a write batch is exactly
 * what that batch committed, and reads render the same bytes the same way. `now` (ms) makes
 * time-driven states visible at their timestamp (partner-api.md §1): a pending earn whose
 * release time passed shows `posted`, a hold past its expiry shows `voided`, before any job ran.
 */

export const OPERATOR_PARTNER_NAME = "Coalition operator";

/** Status as of `nowParam`, for the transactions row aliased `t`. */
export function sqlStatus(t: string, nowParam: string): string {
  return `CASE WHEN ${t}.status = 'pending' AND ${t}.available_at <= ${nowParam} THEN 'posted'
               WHEN ${t}.status = 'held' AND ${t}.expires_at <= ${nowParam} THEN 'voided'
               ELSE ${t}.status END`;
}

/** The full transaction object (the owning partner's view) of the row aliased `t`. */
export function sqlTransactionObject(t: string, nowParam: string): string {
  // order_ref and rate are always present (null when none): §5 lists them on every transaction.
  return `json_set(${transactionWithoutNulls(t, nowParam)}, '$.order_ref', ${t}.order_ref, '$.rate', ${t}.rate)`;
}

function transactionWithoutNulls(t: string, nowParam: string): string {
  return sqlJsonWithoutNulls(`json_object(
    'id', ${t}.id,
    'type', ${t}.type,
    'status', ${sqlStatus(t, nowParam)},
    'points', ${t}.points,
    'captured_points', ${t}.captured_points,
    'member_id', ${t}.member_id,
    'partner', json_object('id', ${t}.partner_id, 'name',
      COALESCE((SELECT p.name FROM partners p WHERE p.id = ${t}.partner_id), '${OPERATOR_PARTNER_NAME}')),
    'order_ref', ${t}.order_ref,
    'amount', json(CASE WHEN ${t}.amount_value IS NULL THEN NULL
                   ELSE json_object('value', ${t}.amount_value, 'unit', ${t}.amount_unit) END),
    'rate', ${t}.rate,
    'multiplier', ${t}.multiplier,
    'rate_card_id', ${t}.rate_card_id,
    'original_transaction_id', ${t}.original_id,
    'original_settlement_id', ${t}.original_period_id,
    'reason', ${t}.reason,
    'occurred_at', ${sqlTime(`${t}.occurred_at`)},
    'created_at', ${sqlTime(`${t}.booked_at`)},
    'available_at', CASE WHEN ${t}.available_at IS NULL THEN NULL ELSE ${sqlTime(`${t}.available_at`)} END,
    'expires_at', CASE WHEN ${t}.expires_at IS NULL THEN NULL ELSE ${sqlTime(`${t}.expires_at`)} END)`);
}

/** What another partner may see of a transaction (§4 activity). */
export function sqlTransactionSummary(t: string, nowParam: string): string {
  return `json_object(
    'id', ${t}.id, 'type', ${t}.type, 'status', ${sqlStatus(t, nowParam)}, 'points', ${t}.points,
    'partner', json_object('id', ${t}.partner_id, 'name',
      COALESCE((SELECT p.name FROM partners p WHERE p.id = ${t}.partner_id), '${OPERATOR_PARTNER_NAME}')),
    'created_at', ${sqlTime(`${t}.booked_at`)})`;
}

export const EXPIRING_WINDOW_MS = 90 * 24 * 3600 * 1000;

/** The member's point buckets as of `now`, as SQL scalar expressions over member `m`. */
export function sqlBalanceParts(memberParam: string, nowParam: string) {
  // Points reserved by holds that expired but were not voided yet count as available again
  // (on lots that have not expired themselves).
  const expiredHoldReservations = `(SELECT COALESCE(SUM(mv.points), 0) FROM transactions h
      JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve'
      JOIN lots l ON l.id = mv.lot_id
     WHERE h.member_id = ${memberParam} AND h.status = 'held' AND h.expires_at <= ${nowParam}
       AND l.expires_at > ${nowParam})`;
  const available = `((SELECT COALESCE(SUM(remaining), 0) FROM lots
      WHERE member_id = ${memberParam} AND remaining > 0 AND available_at <= ${nowParam} AND expires_at > ${nowParam})
    + ${expiredHoldReservations}
    - (SELECT debt_points FROM members WHERE id = ${memberParam}))`;
  const pending = `((SELECT COALESCE(SUM(remaining), 0) FROM lots
      WHERE member_id = ${memberParam} AND remaining > 0 AND available_at > ${nowParam} AND expires_at > ${nowParam})
    + (SELECT COALESCE(SUM(points), 0) FROM transactions
      WHERE member_id = ${memberParam} AND status = 'review' AND type = 'earn'))`;
  const held = `(SELECT COALESCE(SUM(points), 0) FROM transactions
      WHERE member_id = ${memberParam} AND ((status = 'held' AND expires_at > ${nowParam}) OR (status = 'review' AND type = 'burn')))`;
  return { available, pending, held };
}

/** Value of points at the calling partner: value_per_point as units × 10^-scale. */
export interface PointValue {
  unit: string;
  units: bigint;
  scale: number;
}

/**
 * The unified balance object (§4). Binds: member id, now (ms), and, when a value is given, the
 * value per point's integer units. Returns SQL that selects one JSON text.
 */
export function balanceJson(memberId: string, now: number, value: PointValue | undefined): SqlJson {
  const m = "?1";
  const n = "?2";
  const { available, pending, held } = sqlBalanceParts(m, n);
  const expiring = `(SELECT json_group_array(json_object('points', pts, 'expires_at', ${sqlTime("exp")})) FROM (
      SELECT SUM(pts) AS pts, exp FROM (
        SELECT remaining AS pts, expires_at AS exp FROM lots
         WHERE member_id = ${m} AND remaining > 0 AND expires_at > ${n} AND expires_at <= ${n} + ${EXPIRING_WINDOW_MS}
        UNION ALL
        -- points of holds past their expiry, not yet voided by a job, are back on their lots
        SELECT mv.points, l.expires_at FROM transactions h
          JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve' JOIN lots l ON l.id = mv.lot_id
         WHERE h.member_id = ${m} AND h.status = 'held' AND h.expires_at <= ${n}
           AND l.expires_at > ${n} AND l.expires_at <= ${n} + ${EXPIRING_WINDOW_MS})
       GROUP BY exp ORDER BY exp LIMIT 100))`;
  const valueJson = value ? `json_object('value', ${sqlScaledText(`b.available * ?3`, value.scale)}, 'unit', ?4)` : "NULL";
  const sql = `SELECT json_object(
      'member_id', ${m},
      'points', json_object('available', b.available, 'pending', b.pending, 'held', b.held),
      'expiring', json(${expiring}),
      'value', json(${valueJson}),
      'as_of', ${sqlTime(n)})
    FROM (SELECT ${available} AS available, ${pending} AS pending, ${held} AS held) b`;
  const binds: unknown[] = [memberId, now];
  if (value) {
    // The product available × units is formed by SQLite in 64-bit integers.
    binds.push(sqlInt(value.units), value.unit);
  }
  return { sql, binds };
}

/** `{ "transaction": …, "balance": … }`, the answer of every earn, burn, capture, void and reversal. */
export function transactionWithBalanceJson(txnId: string, memberId: string, now: number, value: PointValue | undefined): SqlJson {
  const balance = balanceJson(memberId, now, value);
  const shifted = shiftParams(balance.sql, 2);
  return {
    sql: `SELECT json_object(
        'transaction', json((SELECT ${sqlTransactionObject("t", "?2")} FROM transactions t WHERE t.id = ?1)),
        'balance', json((${shifted})))`,
    binds: [txnId, now, ...balance.binds],
  };
}

/** `{ "transaction": … }` of one transaction. */
export function transactionJson(txnId: string, now: number): SqlJson {
  return {
    sql: `SELECT json_object('transaction', json(${sqlTransactionObject("t", "?2")})) FROM transactions t WHERE t.id = ?1`,
    binds: [txnId, now],
  };
}
