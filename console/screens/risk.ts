import { ApiError, api, type Page, q } from "../api";
import { h, link, replaceChildren, section, time } from "../dom";
import { canWrite } from "../session";
import { confirmDialog, errorBox, notice, pagedTable, screen, writeOnly } from "../ui";

/**
 * Risk: the rule set as one table, edited as a whole and saved with one PUT (the API replaces
 * the set); a refusal's `param` (rules.<i>.<field>) marks the rule and field at fault. Then the
 * review queue with approve / reject, and the risk events, filtered.
 */

type Rule = Record<string, string | number | undefined>;

const COLUMNS: { key: string; label: string; options?: string[]; numeric?: boolean }[] = [
  { key: "id", label: "Id" },
  { key: "partner_id", label: "Partner (empty: global)" },
  { key: "action", label: "Action", options: ["deny", "review"] },
  { key: "applies_to", label: "Applies to", options: ["earn", "burn", "enroll"] },
  { key: "subject", label: "Subject", options: ["member", "device", "ip", "transaction"] },
  { key: "window_seconds", label: "Window (s)", numeric: true },
  { key: "max_count", label: "Max count", numeric: true },
  { key: "max_points", label: "Max points", numeric: true },
  { key: "max_distinct_members", label: "Max distinct members", numeric: true },
  { key: "member_age_below_seconds", label: "Member younger than (s)", numeric: true },
];

function cellControl(col: (typeof COLUMNS)[number], rule: Rule, readOnly: boolean): HTMLElement {
  const current = rule[col.key] === undefined ? "" : String(rule[col.key]);
  const attrs = { name: col.key, "aria-label": col.label, disabled: readOnly };
  if (col.options) {
    return h("select", attrs, ...col.options.map((o) => h("option", { value: o, selected: o === current }, o)));
  }
  return h("input", { ...attrs, value: current, size: col.numeric ? 8 : 18, inputmode: col.numeric ? "numeric" : null });
}

function ruleRow(rule: Rule, readOnly: boolean): HTMLTableRowElement {
  const row = h(
    "tr",
    { "data-rule": "" },
    ...COLUMNS.map((col) => h("td", { "data-field": col.key }, cellControl(col, rule, readOnly))),
    h(
      "td",
      {},
      readOnly
        ? null
        : h("button", { type: "button", class: "remove", "aria-label": "Remove rule", onclick: () => row.remove() }, "✕"),
    ),
  );
  return row;
}

/** The table's rows as the API's rules: empty cells left out; whole numbers as numbers, anything else as typed (the API says why). */
function rulesOf(tbody: HTMLElement): Rule[] {
  return [...tbody.querySelectorAll<HTMLTableRowElement>("tr[data-rule]")].map((row) => {
    const rule: Rule = {};
    for (const col of COLUMNS) {
      const el = row.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${col.key}"]`);
      const v = el?.value.trim() ?? "";
      if (v === "") continue;
      rule[col.key] = col.numeric && /^-?\d+$/.test(v) ? Number(v) : v;
    }
    return rule;
  });
}

function clearErrors(tbody: HTMLElement): void {
  for (const el of tbody.querySelectorAll(".field-error")) el.remove();
  for (const el of tbody.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of tbody.querySelectorAll("tr.invalid")) el.classList.remove("invalid");
}

/** rules.<i>.<field> → that row and cell; rules.<i> → the row. */
function showError(tbody: HTMLElement, e: ApiError): boolean {
  const m = /^rules\.(\d+)(?:\.(\w+))?/.exec(e.param ?? "");
  if (!m) return false;
  const row = tbody.querySelectorAll<HTMLTableRowElement>("tr[data-rule]")[Number(m[1])];
  if (!row) return false;
  row.classList.add("invalid");
  const cell = (m[2] && row.querySelector<HTMLElement>(`td[data-field="${m[2]}"]`)) || row.cells[0];
  cell?.querySelector("input,select")?.setAttribute("aria-invalid", "true");
  cell?.append(h("div", { class: "field-error", role: "alert" }, e.message));
  return true;
}

async function ruleEditor(): Promise<HTMLElement> {
  const set = await api<{ rules: Rule[]; version: number; updated_at: string; updated_by: string }>("GET", "/risk-rules");
  const readOnly = !canWrite();
  const tbody = h("tbody", {}, ...set.rules.map((r) => ruleRow(r, readOnly)));
  const status = h("div", { class: "status" });
  const save = async () => {
    clearErrors(tbody);
    replaceChildren(status);
    try {
      const saved = await api<{ rules: Rule[]; version: number }>("PUT", "/risk-rules", { rules: rulesOf(tbody) });
      replaceChildren(status, notice(`Saved: version ${saved.version}, ${saved.rules.length} rules.`));
    } catch (e) {
      const placed = e instanceof ApiError && showError(tbody, e);
      replaceChildren(status, errorBox(placed ? new Error(`Not saved: ${(e as ApiError).message}`) : e));
    }
  };
  return h(
    "div",
    {},
    h(
      "p",
      {},
      `Version ${set.version}, changed `,
      time(set.updated_at),
      ` by ${set.updated_by}. Order matters: among tripped rules the first names the code.`,
    ),
    h(
      "table",
      { class: "rules", "data-table": "rules" },
      h("thead", {}, h("tr", {}, ...COLUMNS.map((c) => h("th", { scope: "col" }, c.label)), h("th", {}, ""))),
      tbody,
    ),
    writeOnly(
      h(
        "button",
        {
          type: "button",
          onclick: () => tbody.append(ruleRow({ action: "deny", applies_to: "earn", subject: "member" }, false)),
        },
        "Add rule",
      ),
      h("button", { type: "button", class: "primary", onclick: save }, "Save rule set"),
    ),
    status,
  );
}

interface Review {
  transaction: {
    id: string;
    type: string;
    points: number;
    status: string;
    partner: { id: string };
    member_id?: string;
    created_at: string;
  };
  rule_id: string;
  decide_by: string;
}

async function reviewQueue(reload: () => void): Promise<HTMLElement> {
  const status = h("div", { class: "status" });
  const decide = async (r: Review, decision: "approve" | "reject") => {
    const verb = decision === "approve" ? "Approve" : "Reject";
    if (!(await confirmDialog(`${verb} ${r.transaction.type} ${r.transaction.id} (${r.transaction.points} points)?`, verb)))
      return;
    try {
      await api("POST", `/reviews/${encodeURIComponent(r.transaction.id)}`, { decision }, { idempotent: true });
      reload();
    } catch (e) {
      replaceChildren(status, errorBox(e));
    }
  };
  const list = await pagedTable<Review>(
    [
      { label: "Transaction", cell: (r) => h("code", {}, r.transaction.id) },
      { label: "Type", cell: (r) => r.transaction.type },
      { label: "Points", cell: (r) => String(r.transaction.points), numeric: true },
      { label: "Partner", cell: (r) => r.transaction.partner.id },
      {
        label: "Member",
        cell: (r) => (r.transaction.member_id ? link(`#/members/${r.transaction.member_id}`, r.transaction.member_id) : "—"),
      },
      { label: "Rule", cell: (r) => r.rule_id },
      { label: "Booked", cell: (r) => time(r.transaction.created_at) },
      { label: "Decide by", cell: (r) => time(r.decide_by) },
      {
        label: "",
        cell: (r) =>
          writeOnly(
            h("button", { type: "button", class: "primary", onclick: () => decide(r, "approve") }, "Approve"),
            h("button", { type: "button", class: "danger", onclick: () => decide(r, "reject") }, "Reject"),
          ),
      },
    ],
    (cursor) => api<Page<Review>>("GET", `/reviews${q({ limit: "20", cursor })}`),
    { "data-table": "reviews" },
    "No transaction is waiting for review.",
  );
  return h("div", {}, list, status);
}

interface RiskEvent {
  id: string;
  at: string;
  rule_id: string;
  action: string;
  applies_to: string;
  partner_id: string;
  member_id: string | null;
  member_ref: string | null;
  transaction_id: string | null;
  points: number | null;
}

function riskEvents(): HTMLElement {
  const results = h("div", {});
  const filter = (name: string, label: string) => h("label", { class: "field" }, h("span", {}, label), h("input", { name }));
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter risk events" },
    filter("rule_id", "Rule"),
    filter("partner_id", "Partner"),
    filter("member_id", "Member id"),
    h("button", { type: "submit" }, "Filter"),
  );
  const load = async () => {
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value.trim() || undefined;
    const filters = { rule_id: get("rule_id"), partner_id: get("partner_id"), member_id: get("member_id") };
    try {
      replaceChildren(
        results,
        await pagedTable<RiskEvent>(
          [
            { label: "At", cell: (e) => time(e.at) },
            { label: "Rule", cell: (e) => e.rule_id },
            { label: "Action", cell: (e) => e.action },
            { label: "On", cell: (e) => e.applies_to },
            { label: "Partner", cell: (e) => e.partner_id },
            { label: "Member", cell: (e) => (e.member_id ? link(`#/members/${e.member_id}`, e.member_ref ?? e.member_id) : "—") },
            { label: "Points", cell: (e) => (e.points === null ? "—" : String(e.points)), numeric: true },
            { label: "Transaction", cell: (e) => e.transaction_id ?? "—" },
          ],
          (cursor) => api<Page<RiskEvent>>("GET", `/risk-events${q({ ...filters, limit: "20", cursor })}`),
          { "data-table": "risk-events" },
          "No risk event matches.",
        ),
      );
    } catch (e) {
      replaceChildren(results, errorBox(e));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load();
  });
  void load();
  return h("div", {}, form, results);
}

export function riskScreen(root: HTMLElement): Promise<void> {
  const reload = () => void riskScreen(root);
  return screen(root, "Risk", async () => [
    section("Rule set", await ruleEditor()),
    section("Review queue", await reviewQueue(reload)),
    section("Risk events", riskEvents()),
  ]);
}
