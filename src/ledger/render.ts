import { jsonWithoutNulls, scaledText, sqlInt, timeText } from "../db/sql";
import { raw, type Sql, sql } from "../db/sql-template";

/**
 * The ledger's objects rendered by SQL, so a response stored inside a write batch is exactly
 * what that batch committed, and reads render the same bytes the same way. `now` (ms) makes
 * time-driven states visible at their timestamp (partner-api.md §1): a pending earn whose
 * release time passed shows `posted`, a hold past its expiry shows `voided`, before any job ran.
 */

export const OPERATOR_PARTNER_NAME = "Coalition operator";

/** Status as of `now`, for the transactions row aliased `t`. */
export function statusAt(t: string, now: number): Sql {
  const c = (column: string) => raw(`${t}.${column}`);
  return sql`CASE WHEN ${c("status")} = 'pending' AND ${c("available_at")} <= ${now} THEN 'posted'
               WHEN ${c("status")} = 'held' AND ${c("expires_at")} <= ${now} THEN 'voided'
               ELSE ${c("status")} END`;
}

function partnerJson(t: string): Sql {
  return sql`json_object('id', ${raw(`${t}.partner_id`)}, 'name',
      COALESCE((SELECT p.name FROM partners p WHERE p.id = ${raw(`${t}.partner_id`)}), ${OPERATOR_PARTNER_NAME}))`;
}

/** The full transaction object (the owning partner's view) of the row aliased `t`. */
export function transactionObject(t: string, now: number): Sql {
  const c = (column: string) => raw(`${t}.${column}`);
  const time = (column: string) => sql`CASE WHEN ${c(column)} IS NULL THEN NULL ELSE ${timeText(c(column))} END`;
  const object = jsonWithoutNulls(sql`json_object(
    'id', ${c("id")},
    'type', ${c("type")},
    'status', ${statusAt(t, now)},
    'points', ${c("points")},
    'captured_points', ${c("captured_points")},
    'member_id', ${c("member_id")},
    'partner', ${partnerJson(t)},
    'order_ref', ${c("order_ref")},
    'amount', json(CASE WHEN ${c("amount_value")} IS NULL THEN NULL
                   ELSE json_object('value', ${c("amount_value")}, 'unit', ${c("amount_unit")}) END),
    'rate', ${c("rate")},
    'multiplier', ${c("multiplier")},
    'rate_card_id', ${c("rate_card_id")},
    'original_transaction_id', ${c("original_id")},
    'original_settlement_id', ${c("original_period_id")},
    'reason', ${c("reason")},
    'occurred_at', ${timeText(c("occurred_at"))},
    'created_at', ${timeText(c("booked_at"))},
    'available_at', ${time("available_at")},
    'expires_at', ${time("expires_at")})`);
  // order_ref and rate are always present (null when none): §5 lists them on every transaction.
  return sql`json_set(${object}, '$.order_ref', ${c("order_ref")}, '$.rate', ${c("rate")})`;
}

/** What another partner may see of a transaction (§4 activity). */
export function transactionSummary(t: string, now: number): Sql {
  const c = (column: string) => raw(`${t}.${column}`);
  return sql`json_object(
    'id', ${c("id")}, 'type', ${c("type")}, 'status', ${statusAt(t, now)}, 'points', ${c("points")},
    'partner', ${partnerJson(t)}, 'created_at', ${timeText(c("booked_at"))})`;
}

export const EXPIRING_WINDOW_MS = 90 * 24 * 3600 * 1000;

/** Points reserved by holds that expired but were not voided yet, on lots that have not expired (they count as available again). */
function expiredHoldReservations(member: Sql, now: number): Sql {
  return sql`(SELECT COALESCE(SUM(mv.points), 0) FROM transactions h
      JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve'
      JOIN lots l ON l.id = mv.lot_id
     WHERE h.member_id = ${member} AND h.status = 'held' AND h.expires_at <= ${now} AND l.expires_at > ${now})`;
}

/**
 * Points of the member's live lots that are not spendable at `now`: `lapsed` (past their expiry,
 * not yet moved to breakage by the job) and `waiting` (a pending earn's lot before its release).
 * Each is an index seek that reads only such lots.
 */
function unspendableLots(member: Sql, now: number): Sql {
  return sql`(SELECT
      (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ${member} AND live = 1 AND expires_at <= ${now}) AS lapsed,
      (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ${member} AND live = 1 AND available_at > created_at
          AND available_at > ${now} AND expires_at > ${now}) AS waiting)`;
}

/**
 * The member's point buckets as of `now`: a one-row subquery with columns available, pending and
 * held. The points on the member's lots are the member row's running `lot_points`
 * (migrations/0010), less the lots not spendable now: no sum over every live lot.
 */
export function balanceRow(member: Sql, now: number): Sql {
  // Two sums, not one OR: each is then served by its partial index (migrations/0008).
  const held = sql`((SELECT COALESCE(SUM(points), 0) FROM transactions
      WHERE member_id = ${member} AND status = 'held' AND expires_at > ${now})
    + (SELECT COALESCE(SUM(points), 0) FROM transactions WHERE member_id = ${member} AND status = 'review' AND type = 'burn'))`;
  // The member row is read once, under an alias no caller uses: callers pass correlated SQL
  // such as `m.id`, which an inner `m` would capture.
  return sql`(SELECT balance_member.lot_points - u.lapsed - u.waiting + ${expiredHoldReservations(member, now)}
          - balance_member.debt_points AS available,
        u.waiting + (SELECT COALESCE(SUM(points), 0) FROM transactions
          WHERE member_id = ${member} AND status = 'review' AND type = 'earn') AS pending,
        ${held} AS held
      FROM (SELECT lot_points, debt_points FROM members WHERE id = ${member}) balance_member, ${unspendableLots(member, now)} u)`;
}

/** Value of points at the calling partner: value_per_point as units × 10^-scale. */
export interface PointValue {
  unit: string;
  units: bigint;
  scale: number;
}

/** What expires in the next 90 days, soonest first (a lapsed hold's points are back on their lots). */
function expiringJson(member: Sql, now: number): Sql {
  const until = now + EXPIRING_WINDOW_MS;
  return sql`(SELECT json_group_array(json_object('points', pts, 'expires_at', ${timeText(raw("exp"))})) FROM (
      SELECT SUM(pts) AS pts, exp FROM (
        SELECT remaining AS pts, expires_at AS exp FROM lots
         WHERE member_id = ${member} AND live = 1 AND expires_at > ${now} AND expires_at <= ${until}
        UNION ALL
        SELECT mv.points, l.expires_at FROM transactions h
          JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve' JOIN lots l ON l.id = mv.lot_id
         WHERE h.member_id = ${member} AND h.status = 'held' AND h.expires_at <= ${now}
           AND l.expires_at > ${now} AND l.expires_at <= ${until})
       GROUP BY exp ORDER BY exp LIMIT 100))`;
}

/** The unified balance object (§4) as one JSON text: a SELECT expression. */
export function balanceJson(member: Sql, now: number, value: PointValue | undefined): Sql {
  // The product available × units is formed by SQLite in 64-bit integers.
  const valueJson = value
    ? sql`json_object('value', ${scaledText(sql`b.available * ${sqlInt(value.units)}`, value.scale)}, 'unit', ${value.unit})`
    : raw("NULL");
  return sql`(SELECT json_object(
      'member_id', ${member},
      'points', json_object('available', b.available, 'pending', b.pending, 'held', b.held),
      'expiring', json(${expiringJson(member, now)}),
      'value', json(${valueJson}),
      'as_of', ${timeText(sql`${now}`)})
    FROM ${balanceRow(member, now)} b)`;
}

/**
 * The values of `{ "transaction": …, "balance": … }` as one JSON array (TRANSACTION_WITH_BALANCE in
 * ./render-values.ts renders them, in the order named there): what a write stores to replay.
 */
export function transactionWithBalanceValues(txnId: string, member: Sql, now: number, value: PointValue | undefined): Sql {
  const c = (column: string) => raw(`t.${column}`);
  const time = (column: string) => sql`CASE WHEN ${c(column)} IS NULL THEN NULL ELSE ${timeText(c(column))} END`;
  const valueText = value ? scaledText(sql`b.available * ${sqlInt(value.units)}`, value.scale) : raw("NULL");
  return sql`(SELECT json_array(
      t.id, t.type, ${statusAt("t", now)}, t.points, t.captured_points, t.member_id, t.partner_id,
      COALESCE((SELECT p.name FROM partners p WHERE p.id = t.partner_id), ${OPERATOR_PARTNER_NAME}),
      t.order_ref, t.amount_value, t.amount_unit, t.rate, t.multiplier, t.rate_card_id, t.original_id, t.original_period_id,
      t.reason, ${timeText(c("occurred_at"))}, ${timeText(c("booked_at"))}, ${time("available_at")}, ${time("expires_at")},
      ${member}, b.available, b.pending, b.held, json(${expiringJson(member, now)}), ${valueText}, ${value?.unit ?? null},
      ${timeText(sql`${now}`)})
    FROM transactions t, ${balanceRow(member, now)} b WHERE t.id = ${txnId})`;
}

/** `{ "transaction": …, "balance": … }`, the answer of every earn, burn, capture, void and reversal. */
export function transactionWithBalanceJson(txnId: string, member: Sql, now: number, value: PointValue | undefined): Sql {
  return sql`(SELECT json_object(
      'transaction', json((SELECT ${transactionObject("t", now)} FROM transactions t WHERE t.id = ${txnId})),
      'balance', json(${balanceJson(member, now, value)})))`;
}

/** `{ "transaction": … }` of one transaction. */
export function transactionJson(txnId: string, now: number): Sql {
  return sql`(SELECT json_object('transaction', json(${transactionObject("t", now)})) FROM transactions t WHERE t.id = ${txnId})`;
}
