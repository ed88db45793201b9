import type { JSONWebKeySet } from "jose";
import { verifyReportSignatures } from "../../packages/partner-sdk/src/verify-report";
import { add, formatDecimal, parseDecimal, ZERO } from "../../src/rates/decimal";
import type { MatrixLine, PositionJson, SignedReport } from "../../src/settlement/report-types";
import { api } from "../api";
import { amount, h, replaceChildren, section, table, time } from "../dom";
import { errorBox, screen } from "../ui";

/**
 * One settlement report: each partner's statement, the issuer → redeemer matrix as a heat map
 * with exact totals, the points position and margin, the digest and whether the signatures
 * verify, checked here in the browser with the partner SDK's code against /.well-known/jwks.json.
 */

// The report exactly as the server declares it (types only: nothing of the worker is bundled).
type Report = SignedReport;
type Position = PositionJson;

/** Exact sum of decimal strings (the totals the matrix adds; no float). */
function sum(values: string[]): string {
  return formatDecimal(values.reduce((acc, v) => add(acc, parseDecimal(v, { maxScale: 12 })), ZERO));
}

function heatMap(report: Report): HTMLElement {
  const issuers = [...new Set(report.matrix.map((m) => m.issuer))].sort();
  const redeemers = [...new Set(report.matrix.map((m) => m.redeemer))].sort();
  if (report.matrix.length === 0) return h("p", { class: "empty" }, "No points were redeemed across partners in this period.");
  const cell = new Map(report.matrix.map((m) => [`${m.issuer}\u0000${m.redeemer}`, m]));
  const max = Math.max(...report.matrix.map((m) => Math.abs(m.points)), 1);
  const unit = report.currency;
  const totalOf = (lines: MatrixLine[]) =>
    `${lines.reduce((n, m) => n + m.points, 0)} pt · ${sum(lines.map((m) => m.amount.value))} ${unit}`;
  return h(
    "table",
    { class: "heat", "data-table": "matrix" },
    h("caption", {}, "Issuer (row) → redeemer (column): points redeemed and what the issuer owes for them"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "issuer \\ redeemer"),
        ...redeemers.map((r) => h("th", { scope: "col" }, r)),
        h("th", { scope: "col" }, "Total"),
      ),
    ),
    h(
      "tbody",
      {},
      ...issuers.map((i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, i),
          ...redeemers.map((r) => {
            const m = cell.get(`${i}\u0000${r}`);
            const td = h(
              "td",
              { class: "num", "data-issuer": i, "data-redeemer": r },
              m ? [`${m.points} pt `, h("br"), amount(m.amount)] : "",
            );
            // Intensity by points, through the CSSOM (the CSP allows no inline style attribute).
            if (m) td.style.backgroundColor = `rgba(47, 111, 176, ${(0.12 + 0.6 * (Math.abs(m.points) / max)).toFixed(3)})`;
            return td;
          }),
          h("td", { class: "num total" }, totalOf(report.matrix.filter((m) => m.issuer === i))),
        ),
      ),
    ),
    h(
      "tfoot",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "row" }, "Total"),
        ...redeemers.map((r) => h("td", { class: "num total" }, totalOf(report.matrix.filter((m) => m.redeemer === r)))),
        h("td", { class: "num total", "data-total": "matrix" }, totalOf(report.matrix)),
      ),
    ),
  );
}

function verification(report: Report): HTMLElement {
  const box = h("p", { class: "verify", "data-verify": "pending" }, "Checking the signatures against /.well-known/jwks.json…");
  void (async () => {
    try {
      const response = await fetch("/.well-known/jwks.json");
      if (!response.ok) throw new Error(`JWKS: HTTP ${response.status}`);
      // The SDK takes any JSON-shaped report (index signatures); the server's interfaces have none.
      const result = await verifyReportSignatures(
        report as unknown as Parameters<typeof verifyReportSignatures>[0],
        (await response.json()) as JSONWebKeySet,
      );
      box.dataset.verify = result.ok ? "ok" : "failed";
      replaceChildren(
        box,
        result.ok
          ? `✓ Signature verifies: the report and its ${report.statements.length} statements, against /.well-known/jwks.json (checked in this browser with the partner SDK).`
          : `✗ Does not verify: ${result.problems.join("; ")}`,
      );
    } catch (e) {
      box.dataset.verify = "failed";
      replaceChildren(box, errorBox(e));
    }
  })();
  return box;
}

async function downloadCsv(id: string, status: HTMLElement): Promise<void> {
  try {
    const blob = await api<Blob>("GET", `/settlements/${id}.csv`, undefined, { raw: true });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `${id}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    replaceChildren(status, errorBox(e));
  }
}

const positionColumns = [
  { label: "Opening", cell: (p: Position) => String(p.opening), numeric: true },
  { label: "Issued", cell: (p: Position) => String(p.issued), numeric: true },
  { label: "Reversed", cell: (p: Position) => String(p.reversed), numeric: true },
  { label: "Redeemed", cell: (p: Position) => String(p.redeemed), numeric: true },
  { label: "Expired", cell: (p: Position) => String(p.expired), numeric: true },
  { label: "Closing", cell: (p: Position) => String(p.closing), numeric: true },
  { label: "Liability", cell: (p: Position) => amount(p.liability), numeric: true },
  { label: "Breakage", cell: (p: Position) => amount(p.breakage), numeric: true },
];

export function reportScreen(root: HTMLElement, id: string): Promise<void> {
  return screen(root, `Settlement report ${id}`, async () => {
    const report = await api<Report>("GET", `/settlements/${encodeURIComponent(id)}`);
    const csvStatus = h("div", { class: "status" });
    const t = report.totals;
    return [
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Period"),
        h(
          "dd",
          {},
          time(report.period.start),
          " – ",
          time(report.period.end),
          report.off_cycle ? " (off-cycle)" : " (scheduled)",
        ),
        h("dt", {}, "Closed"),
        h("dd", {}, time(report.closed_at)),
        h("dt", {}, "Margin"),
        h("dd", { "data-field": "margin" }, amount(t.margin)),
        h("dt", {}, "Payable · receivable"),
        h("dd", {}, `${amount(t.payable)} · ${amount(t.receivable)}`),
        h("dt", {}, "Liability · breakage"),
        h("dd", {}, `${amount(t.liability)} · ${amount(t.breakage)}`),
        h("dt", {}, "Set off · top-up · payout"),
        h("dd", {}, `${amount(report.funding.set_off)} · ${amount(report.funding.top_up)} · ${amount(report.funding.payout)}`),
        h("dt", {}, "Digest (SHA-256)"),
        h("dd", {}, h("code", { "data-field": "digest" }, report.digest)),
      ),
      verification(report),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => downloadCsv(report.id, csvStatus) }, "Download CSV"),
      ),
      csvStatus,
      section("Issuer → redeemer matrix", heatMap(report)),
      section(
        "Statements",
        table(
          [
            { label: "Partner", cell: (s) => s.partner_id },
            { label: "Issued pt", cell: (s) => String(s.points.issued), numeric: true },
            { label: "Redeemed pt", cell: (s) => String(s.points.redeemed), numeric: true },
            { label: "Payable", cell: (s) => amount(s.payable), numeric: true },
            { label: "Receivable", cell: (s) => amount(s.receivable), numeric: true },
            { label: "Net", cell: (s) => amount(s.net), numeric: true },
            { label: "Payout", cell: (s) => amount(s.payout), numeric: true },
            { label: "Digest", cell: (s) => h("code", { class: "short", title: s.digest }, `${s.digest.slice(0, 12)}…`) },
          ],
          report.statements,
          { "data-table": "statements" },
        ),
      ),
      section(
        "Points position",
        table(
          [{ label: "Issuer", cell: (p: { issuer: string } & Position) => p.issuer }, ...positionColumns],
          report.points_position.by_issuer,
          {
            "data-table": "position",
          },
        ),
        table([{ label: "", cell: () => "Total" }, ...positionColumns], [report.points_position.total]),
      ),
    ];
  });
}
