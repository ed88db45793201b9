import { all, first, raw, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { formatDecimal } from "../rates/decimal";
import { fromMicros } from "../rates/micros";
import { exactText, minorUnits } from "./money";
import type { EntryKind, PeriodRow } from "./report";

/** Reads of closed settlements: stored reports and statements (served verbatim), and lines. */

export async function getPeriod(db: D1Database, id: string): Promise<PeriodRow | null> {
  return first<PeriodRow>(
    db,
    sql`SELECT p.* FROM settlement_periods p JOIN settlement_reports r ON r.id = p.id WHERE p.id = ${id}`,
  );
}

export async function getStatementText(db: D1Database, id: string, partnerId: string): Promise<string | null> {
  const row = await first<{ statement: string }>(
    db,
    sql`SELECT statement FROM settlement_statements WHERE settlement_id = ${id} AND partner_id = ${partnerId}`,
  );
  return row?.statement ?? null;
}

/** A partner's statements, newest period first (ids sort by period start). */
export async function listStatementTexts(
  db: D1Database,
  partnerId: string,
  limit: number,
  before?: string,
): Promise<{ id: string; text: string }[]> {
  const after = before === undefined ? raw("") : sql`AND settlement_id < ${before}`;
  return all<{ id: string; text: string }>(
    db,
    sql`SELECT settlement_id AS id, statement AS text FROM settlement_statements
         WHERE partner_id = ${partnerId} ${after} ORDER BY settlement_id DESC LIMIT ${limit}`,
  );
}

export async function listReportSummaries(
  db: D1Database,
  limit: number,
  before?: string,
): Promise<{ id: string; text: string }[]> {
  const after = before === undefined ? raw("") : sql`WHERE id < ${before}`;
  return all<{ id: string; text: string }>(
    db,
    sql`SELECT id, summary AS text FROM settlement_reports ${after} ORDER BY id DESC LIMIT ${limit}`,
  );
}

export interface LineRow {
  txn_id: string;
  src: string;
  src_id: number;
  kind: EntryKind;
  issuer_id: string;
  redeemer_id: string | null;
  points: number;
  issue_price_micros: number;
  redeem_price_micros: number;
  at: number;
  /** The transaction's type (from its row). */
  type: string;
  booked_at: number;
  original_id: string | null;
  original_period_id: string | null;
}

export interface LineJson {
  id: string;
  transaction_id: string;
  transaction_type: string;
  kind: EntryKind;
  issuer: string;
  redeemer: string | null;
  points: number;
  price: string;
  amount: { value: string; unit: string };
  payable: string;
  receivable: string;
  booked_at: string;
  settled_at: string;
  original: { transaction_id: string; settlement_id: string | null } | null;
}

/** Kinds a partner's statement counts (expiries and repay movements only feed the points position). */
const STATEMENT_KINDS =
  "'issue', 'reverse_issue', 'take_back', 'unexpire', 'repaid_returned', 'debt_repaid', 'redeem', 'restore'";

/** Where a page of lines starts: after this entry, in the order (settled_at, transaction, source) descending. */
export interface LinePosition {
  at: number;
  txn: string;
  src: string;
  srcId: number;
}

/**
 * The lines of a partner's statement: every entry of the period in which it is the issuer
 * (issues, reversals of them, take-backs, debt repaid to it, its points redeemed anywhere) or
 * the redeemer, newest first, keyset-paginated by (settled_at, transaction, source).
 */
export async function listLines(
  db: D1Database,
  partnerId: string,
  period: PeriodRow,
  limit: number,
  cursor?: LinePosition,
): Promise<LineRow[]> {
  const after = cursor
    ? sql`AND (e.at, e.txn_id, e.src, e.src_id) < (${cursor.at}, ${cursor.txn}, ${cursor.src}, ${cursor.srcId})`
    : raw("");
  const range = sql`e.at >= ${period.start_at} AND e.at < ${period.end_at} ${after}`;
  const order = raw("ORDER BY e.at DESC, e.txn_id DESC, e.src DESC, e.src_id DESC");
  return all<LineRow>(
    db,
    sql`SELECT x.*, t.type, t.booked_at, t.original_id, t.original_period_id FROM (
      SELECT * FROM (SELECT e.* FROM settlement_entries e
                      WHERE e.issuer_id = ${partnerId} AND ${range} AND e.kind IN (${raw(STATEMENT_KINDS)}) ${order} LIMIT ${limit})
      UNION
      SELECT * FROM (SELECT e.* FROM settlement_entries e
                      WHERE e.redeemer_id = ${partnerId} AND ${range} AND e.kind IN ('redeem', 'restore') ${order} LIMIT ${limit})) AS x
      JOIN transactions t ON t.id = x.txn_id
     ORDER BY x.at DESC, x.txn_id DESC, x.src DESC, x.src_id DESC LIMIT ${limit}`,
  );
}

/** A line as the partner sees it: exact amounts (never rounded) and its part in the statement's figures. */
export function lineJson(row: LineRow, partnerId: string, currency: string): LineJson {
  const redeemSide = row.kind === "redeem" || row.kind === "restore";
  const priceMicros = redeemSide ? row.redeem_price_micros : row.issue_price_micros;
  const amount = BigInt(row.points) * BigInt(priceMicros);
  let payable = 0n;
  let receivable = 0n;
  if (row.issuer_id === partnerId) {
    if (row.kind === "issue") payable = amount;
    else if (["take_back", "unexpire", "repaid_returned", "debt_repaid"].includes(row.kind)) payable = -amount;
  }
  if (row.redeemer_id === partnerId) {
    if (row.kind === "redeem") receivable = amount;
    else if (row.kind === "restore") receivable = -amount;
  }
  const scale = minorUnits(currency);
  return {
    id: `sle_${row.txn_id.replace(/^txn_/, "")}.${row.src}.${row.src_id}`,
    transaction_id: row.txn_id,
    transaction_type: row.type,
    kind: row.kind,
    issuer: row.issuer_id,
    redeemer: row.redeemer_id,
    points: row.points,
    price: formatDecimal(fromMicros(priceMicros)),
    amount: { value: formatDecimal(fromMicros(amount), scale), unit: currency },
    payable: exactText(payable, currency),
    receivable: exactText(receivable, currency),
    booked_at: toRfc3339(row.booked_at),
    settled_at: toRfc3339(row.at),
    original: row.original_id ? { transaction_id: row.original_id, settlement_id: row.original_period_id } : null,
  };
}
