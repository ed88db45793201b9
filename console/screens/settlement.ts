import { api, type Page, q } from "../api";
import { type Amount, amount, h, link, replaceChildren, section, time } from "../dom";
import { confirmDialog, errorBox, notice, pagedTable, screen, writeOnly } from "../ui";

/** Settlement: the closed reports, newest first, and closing a period (scheduled or off-cycle). */

export interface ReportSummary {
  id: string;
  period: { start: string; end: string };
  off_cycle: boolean;
  closed_at: string;
  closed_by?: string;
  partners: number;
  totals: Record<"payable" | "receivable" | "margin" | "liability" | "breakage", Amount>;
  digest: string;
}

/** A datetime-local value (the viewer's zone) as RFC 3339 UTC, whole seconds (periods are cut on seconds). */
function instantOf(local: string): string | undefined {
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? undefined : `${at.toISOString().slice(0, 19)}Z`;
}

function closeForm(reload: () => void): HTMLElement {
  const status = h("div", { class: "status" });
  const instant = h("input", { type: "datetime-local", name: "period_end", step: 1, "aria-label": "Cut the open period at" });
  const close = async (periodEnd: string | undefined) => {
    const question = periodEnd
      ? `Cut the open period at ${periodEnd} and close it now (off-cycle)? A closed period never changes.`
      : "Close every scheduled period that has ended? A closed period never changes.";
    if (!(await confirmDialog(question, "Close"))) return;
    try {
      const r = await api<{ data: ReportSummary[]; open_period?: { start: string; end: string } }>(
        "POST",
        "/settlements/close",
        periodEnd ? { period_end: periodEnd } : {},
      );
      const closed = r.data.map((x) => x.id);
      replaceChildren(
        status,
        notice(closed.length ? `Closed ${closed.join(", ")}.` : "Nothing to close: no scheduled period has ended."),
        ...r.data.map((x) => h("p", {}, link(`#/settlement/${x.id}`, `Open report ${x.id}`))),
      );
      if (closed.length) setTimeout(reload, 1500);
    } catch (e) {
      replaceChildren(status, errorBox(e));
    }
  };
  return section(
    "Close a period",
    h(
      "p",
      {},
      "Scheduled: closes every period whose scheduled end has passed. Off-cycle: cuts the open period at an instant (not in the future) and closes it.",
    ),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close(undefined) }, "Close ended periods")),
    h(
      "div",
      { class: "actions" },
      h("label", { class: "field" }, h("span", {}, "Off-cycle, at (your time; empty: now)"), instant),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: () => {
            const at = instant.value ? instantOf(instant.value) : `${new Date().toISOString().slice(0, 19)}Z`;
            void close(at);
          },
        },
        "Close off-cycle",
      ),
    ),
    status,
  );
}

export function settlementScreen(root: HTMLElement): Promise<void> {
  const reload = () => void settlementScreen(root);
  return screen(root, "Settlement", async () => {
    const list = await pagedTable<ReportSummary>(
      [
        { label: "Report", cell: (r) => link(`#/settlement/${r.id}`, r.id) },
        { label: "Period", cell: (r) => [time(r.period.start), " – ", time(r.period.end)] },
        { label: "Kind", cell: (r) => (r.off_cycle ? "off-cycle" : "scheduled") },
        { label: "Closed", cell: (r) => time(r.closed_at) },
        { label: "Partners", cell: (r) => String(r.partners), numeric: true },
        { label: "Payable", cell: (r) => amount(r.totals.payable), numeric: true },
        { label: "Receivable", cell: (r) => amount(r.totals.receivable), numeric: true },
        { label: "Margin", cell: (r) => amount(r.totals.margin), numeric: true },
      ],
      (cursor) => api<Page<ReportSummary>>("GET", `/settlements${q({ limit: "20", cursor })}`),
      { "data-table": "settlements" },
      "No period has been closed yet.",
    );
    return [section("Reports", list), writeOnly(closeForm(reload))];
  });
}
