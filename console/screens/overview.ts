import uPlot from "uplot";
import { isNegative, mul, parseDecimal, sub } from "../../src/rates/decimal";
import { api, type Page } from "../api";
import { type Amount, amount, h, link, section, table, time } from "../dom";
import { screen } from "../ui";

/** Overview: GET /admin/v1/metrics, the review queue and the open period, at a glance. */

interface Metrics {
  as_of: string;
  currency: string;
  closed_through: string;
  outstanding: {
    by_issuer: { issuer: string; points: number; liability: Amount }[];
    total: { points: number; liability: Amount };
  };
  periods: {
    settlement_id: string | null;
    open: boolean;
    start: string;
    end: string | null;
    issued: number;
    redeemed: number;
    expired: number;
    reversed: number;
    breakage_rate: string;
  }[];
  breakage: { redeemed: number; expired: number; rate: string };
  exposure: {
    partner_id: string;
    name: string;
    status: string;
    funding_mode: "prepaid" | "postpaid";
    balance?: Amount;
    credit_limit?: Amount;
    available_credit?: Amount;
    exposure: Amount;
    payout_due: Amount;
  }[];
}

type Exposure = Metrics["exposure"][number];

/**
 * Near its limit (the issue leaves the line to us): a postpaid partner whose exposure is 80 % of
 * its credit limit or more; a prepaid partner whose balance no longer covers the liability of
 * the points it issued that are still outstanding. Exact decimals, never floats.
 */
export function nearLimit(p: Exposure, liability: Amount | undefined): boolean {
  if (p.funding_mode === "postpaid" && p.credit_limit) {
    return !isNegative(sub(parseDecimal(p.exposure.value), mul(parseDecimal(p.credit_limit.value), parseDecimal("0.8"))));
  }
  if (p.funding_mode === "prepaid" && p.balance && liability) {
    return isNegative(sub(parseDecimal(p.balance.value), parseDecimal(liability.value)));
  }
  return false;
}

/** A period's label on the chart: its start date in the viewer's zone (the table below has the times). */
function periodLabel(p: Metrics["periods"][number]): string {
  return `${new Date(p.start).toLocaleDateString(undefined, { month: "short", day: "numeric" })}${p.open ? " (open)" : ""}`;
}

function periodChart(periods: Metrics["periods"]): HTMLElement {
  const box = h("div", { class: "chart", role: "img", "aria-label": "Points issued, redeemed and expired per period" });
  const ordered = [...periods].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const labels = ordered.map(periodLabel);
  // One slot per period (periods differ in length: off-cycle closes), not a time axis.
  const x = ordered.map((_, i) => i);
  const series = (label: string, stroke: string) => ({
    label,
    stroke,
    width: 2,
    points: { show: true, size: 8 },
    value: (_u: uPlot, v: number | null) => (v === null ? "—" : String(v)),
  });
  const opts: uPlot.Options = {
    width: 640,
    height: 240,
    scales: { x: { time: false, range: () => [-0.5, Math.max(ordered.length - 0.5, 0.5)] } },
    series: [
      { label: "Period", value: (_u, v) => (v === null ? "—" : (labels[v] ?? "—")) },
      series("Issued", "#2f6fb0"),
      series("Redeemed", "#2e8b57"),
      series("Expired", "#b8860b"),
    ],
    axes: [
      { incrs: [1], values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (labels[v] ?? "") : "")) },
      { label: "points" },
    ],
  };
  const data: uPlot.AlignedData = [
    x,
    ordered.map((p) => p.issued),
    ordered.map((p) => p.redeemed),
    ordered.map((p) => p.expired),
  ];
  // Attached first: uPlot measures its container.
  queueMicrotask(() => new uPlot(opts, data, box));
  return box;
}

async function reviewsWaiting(): Promise<string> {
  const page = await api<Page<unknown>>("GET", "/reviews?limit=100");
  return page.next_cursor ? `${page.data.length}+` : String(page.data.length);
}

export function overviewScreen(root: HTMLElement): Promise<void> {
  return screen(root, "Overview", async () => {
    const [m, reviews, config] = await Promise.all([
      api<Metrics>("GET", "/metrics"),
      reviewsWaiting(),
      api<{ period: string; open_period?: { start: string; end: string } }>("GET", "/settlement-config"),
    ]);
    const liabilityOf = new Map(m.outstanding.by_issuer.map((i) => [i.issuer, i.liability]));
    const open = config.open_period;
    return [
      h(
        "div",
        { class: "cards" },
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Outstanding points"),
          h("p", { class: "big", "data-metric": "outstanding-points" }, String(m.outstanding.total.points)),
          h("p", {}, "liability ", h("span", { "data-metric": "outstanding-liability" }, amount(m.outstanding.total.liability))),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Breakage rate"),
          h("p", { class: "big", "data-metric": "breakage-rate" }, m.breakage.rate),
          h("p", {}, `${m.breakage.expired} expired of ${m.breakage.redeemed + m.breakage.expired} redeemed or expired`),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Reviews waiting"),
          h("p", { class: "big", "data-metric": "reviews-waiting" }, reviews),
          link("#/risk", "Review queue"),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Open period"),
          h("p", {}, "from ", time(open?.start ?? m.closed_through)),
          h("p", {}, `closes (${config.period}) `, h("span", { "data-metric": "open-period-end" }, time(open?.end))),
        ),
      ),
      section(
        "Outstanding by issuer",
        table(
          [
            { label: "Issuer", cell: (r) => link(`#/partners/${encodeURIComponent(r.issuer)}`, r.issuer) },
            { label: "Points", cell: (r) => String(r.points), numeric: true },
            { label: "Liability", cell: (r) => amount(r.liability), numeric: true },
          ],
          m.outstanding.by_issuer,
          { "data-table": "outstanding" },
        ),
      ),
      section(
        "Issued, redeemed and expired per period",
        periodChart(m.periods),
        table(
          [
            { label: "Period", cell: (p) => [time(p.start), " – ", p.end ? time(p.end) : "open"] },
            { label: "Issued", cell: (p) => String(p.issued), numeric: true },
            { label: "Redeemed", cell: (p) => String(p.redeemed), numeric: true },
            { label: "Expired", cell: (p) => String(p.expired), numeric: true },
            { label: "Breakage", cell: (p) => p.breakage_rate, numeric: true },
          ],
          m.periods,
          { "data-table": "periods" },
        ),
      ),
      section(
        "Funding and exposure",
        table(
          [
            { label: "Partner", cell: (p) => link(`#/partners/${encodeURIComponent(p.partner_id)}`, p.name) },
            { label: "Status", cell: (p) => p.status },
            { label: "Funding", cell: (p) => p.funding_mode },
            { label: "Balance / credit limit", cell: (p) => amount(p.balance ?? p.credit_limit), numeric: true },
            { label: "Exposure", cell: (p) => amount(p.exposure), numeric: true },
            { label: "Payout due", cell: (p) => amount(p.payout_due), numeric: true },
            {
              label: "Limit",
              cell: (p) =>
                nearLimit(p, liabilityOf.get(p.partner_id))
                  ? h("span", { class: "flag", "data-near-limit": "" }, "near limit")
                  : "ok",
            },
          ],
          m.exposure,
          { "data-table": "exposure" },
        ),
      ),
      h("p", { class: "as-of" }, "As of ", time(m.as_of), ` · amounts in ${m.currency}`),
    ];
  });
}
