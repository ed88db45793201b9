import type { SignedReport } from "./report";

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

/**
 * The full report as one table: report metadata, each partner's statement figures, the matrix,
 * the points position by issuer, and the totals (margin, liability, breakage).
 */
export function reportCsv(report: SignedReport): string {
  const unit = report.currency;
  const rows: (string | number | boolean | null)[][] = [CSV_HEADER];
  const meta = (item: string, value: string | boolean) => rows.push(["report", "", "", "", item, "", String(value), "", "", ""]);
  meta("id", report.id);
  meta("period_start", report.period.start);
  meta("period_end", report.period.end);
  meta("off_cycle", report.off_cycle);
  meta("closed_at", report.closed_at);
  meta("currency", report.currency);
  meta("digest", report.digest);
  meta("signature", report.signature);

  for (const s of report.statements) {
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
  }
  for (const m of report.matrix) {
    rows.push(["matrix", "", m.issuer, m.redeemer, "redeemed", m.points, m.amount.value, m.exact, m.rounding, unit]);
  }
  const positions = [...report.points_position.by_issuer, { issuer: "", ...report.points_position.total }];
  for (const p of positions) {
    const who = p.issuer === "" ? "total" : p.issuer;
    for (const item of [
      "opening",
      "issued",
      "reversed",
      "redeemed",
      "expired",
      "debt_created",
      "debt_repaid",
      "closing",
    ] as const) {
      rows.push(["position", "", who, "", item, p[item], "", "", "", ""]);
    }
    rows.push(["position", "", who, "", "liability", "", p.liability.value, p.exact.liability, p.rounding.liability, unit]);
    rows.push(["position", "", who, "", "breakage", "", p.breakage.value, p.exact.breakage, p.rounding.breakage, unit]);
  }
  for (const item of ["payable", "receivable", "margin", "liability", "breakage"] as const) {
    rows.push(["totals", "", "", "", item, "", report.totals[item].value, report.exact[item], report.rounding[item], unit]);
  }
  for (const item of ["set_off", "top_up", "payout"] as const) {
    const part = report.funding?.[item];
    if (part) rows.push(["totals", "", "", "", item, "", part.value, part.value, "0", unit]);
  }
  return csvRecords(rows);
}
