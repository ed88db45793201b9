import { MATRIX_CHUNK, type ReportHead, type ReportParts } from "./report-objects";
import type { SignedStatement } from "./report-types";

/**
 * RFC 4180 CSV: records end in CRLF; a field containing a comma, a double quote, CR or LF is
 * enclosed in double quotes, with each double quote inside doubled.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  const s = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRecords(rows: (string | number | boolean | null | undefined)[][]): string {
  return rows.map((row) => `${row.map(csvField).join(",")}\r\n`).join("");
}

export const CSV_HEADER = ["section", "partner", "issuer", "redeemer", "item", "points", "value", "exact", "rounding", "unit"];

type Row = (string | number | boolean | null)[];

/**
 * The full report as one table: report metadata, each partner's statement figures, the matrix,
 * the points position by issuer, and the totals (margin, liability, breakage). Streamed from the
 * report's parts, a statement or a matrix chunk at a time: its size is the report's, never held
 * whole in memory.
 */
export async function* reportCsv(report: ReportParts): AsyncGenerator<string> {
  const head = await report.head();
  yield csvRecords([CSV_HEADER, ...metaRows(head)]);
  for await (const s of report.statements()) yield csvRecords(statementRows(s, head.currency));
  for (let from = 0; from < report.matrixLines; from += MATRIX_CHUNK) {
    const lines = await report.matrixSlice(from, from + MATRIX_CHUNK);
    yield csvRecords(
      lines.map((m) => [
        "matrix",
        "",
        m.issuer,
        m.redeemer,
        "redeemed",
        m.points,
        m.amount.value,
        m.exact,
        m.rounding,
        head.currency,
      ]),
    );
  }
  yield csvRecords([...positionRows(head), ...totalsRows(head)]);
}

function metaRows(head: ReportHead): Row[] {
  const meta = (item: string, value: string | boolean): Row => ["report", "", "", "", item, "", String(value), "", "", ""];
  return [
    meta("id", head.id),
    meta("period_start", head.period.start),
    meta("period_end", head.period.end),
    meta("off_cycle", head.off_cycle),
    meta("closed_at", head.closed_at),
    meta("currency", head.currency),
    meta("digest", head.digest),
    meta("signature", head.signature),
  ];
}

function statementRows(s: SignedStatement, unit: string): Row[] {
  const rows: Row[] = [];
  for (const [item, points] of Object.entries(s.points))
    rows.push(["statement", s.partner_id, "", "", item, points, "", "", "", ""]);
  for (const item of ["payable", "receivable", "net"] as const) {
    rows.push(["statement", s.partner_id, "", "", item, "", s[item].value, s.exact[item], s.rounding[item], unit]);
  }
  // The receivable as the close applied it: exact amounts (no rounding), absent before 2026-12-01.
  for (const item of ["set_off", "top_up", "payout"] as const) {
    const part = s[item];
    if (part) rows.push(["statement", s.partner_id, "", "", item, "", part.value, part.value, "0", unit]);
  }
  rows.push(["statement", s.partner_id, "", "", "digest", "", s.digest, "", "", ""]);
  return rows;
}

const POSITION_ITEMS = [
  "opening",
  "issued",
  "reversed",
  "redeemed",
  "expired",
  "debt_created",
  "debt_repaid",
  "closing",
] as const;

function positionRows(head: ReportHead): Row[] {
  const unit = head.currency;
  const rows: Row[] = [];
  for (const p of [...head.points_position.by_issuer, { issuer: "", ...head.points_position.total }]) {
    const who = p.issuer === "" ? "total" : p.issuer;
    for (const item of POSITION_ITEMS) rows.push(["position", "", who, "", item, p[item], "", "", "", ""]);
    rows.push(["position", "", who, "", "liability", "", p.liability.value, p.exact.liability, p.rounding.liability, unit]);
    rows.push(["position", "", who, "", "breakage", "", p.breakage.value, p.exact.breakage, p.rounding.breakage, unit]);
  }
  return rows;
}

function totalsRows(head: ReportHead): Row[] {
  const unit = head.currency;
  const rows: Row[] = [];
  for (const item of ["payable", "receivable", "margin", "liability", "breakage"] as const) {
    rows.push(["totals", "", "", "", item, "", head.totals[item].value, head.exact[item], head.rounding[item], unit]);
  }
  for (const item of ["set_off", "top_up", "payout"] as const) {
    const part = head.funding?.[item];
    if (part) rows.push(["totals", "", "", "", item, "", part.value, part.value, "0", unit]);
  }
  return rows;
}
