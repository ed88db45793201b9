import { api, type Page, q } from "../api";
import { h, link, section, table, time } from "../dom";
import { actionForm, errorBox, pagedTable, screen, value, writeOnly } from "../ui";
import type { Partner } from "./partners";

/** Members: look one up (id, or a partner and its member ref), then balance, expiring, links, activity; adjustments. */

interface MemberView {
  member: {
    id: string;
    created_at: string;
    debt_points: number;
    links: { partner_id: string; member_ref: string; linked_at: string }[];
  };
  balance: {
    points: { available: number; pending: number; held: number };
    expiring: { points: number; expires_at: string }[];
    as_of: string;
  };
}

interface Activity {
  id: string;
  type: string;
  status: string;
  points: number;
  partner: { id: string; name: string };
  created_at: string;
  order_ref?: string | null;
  amount?: { value: string; unit: string };
  reason?: string;
}

async function lookupForm(): Promise<HTMLElement> {
  const partners = await api<Page<Partner>>("GET", "/partners?limit=100");
  const byId = h(
    "form",
    { class: "lookup", "aria-label": "Find member by id" },
    h(
      "label",
      { class: "field" },
      h("span", {}, "Member id"),
      h("input", { name: "member_id", required: true, placeholder: "mbr_…" }),
    ),
    h("button", { type: "submit" }, "Find"),
  );
  byId.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/members/${encodeURIComponent(value(byId, "member_id"))}`;
  });
  const status = h("div", { class: "status" });
  const byRef = h(
    "form",
    { class: "lookup", "aria-label": "Find member by partner and member ref" },
    h(
      "label",
      { class: "field" },
      h("span", {}, "Partner"),
      h("select", { name: "partner_id" }, ...partners.data.map((p) => h("option", { value: p.id }, `${p.name} (${p.id})`))),
    ),
    h("label", { class: "field" }, h("span", {}, "Member ref"), h("input", { name: "member_ref", required: true })),
    h("button", { type: "submit" }, "Find"),
    status,
  );
  byRef.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const found = await api<MemberView>(
        "GET",
        `/members${q({ partner_id: value(byRef, "partner_id"), member_ref: value(byRef, "member_ref") })}`,
      );
      location.hash = `#/members/${encodeURIComponent(found.member.id)}`;
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  return h("div", { class: "lookups" }, byId, byRef);
}

export function membersScreen(root: HTMLElement): Promise<void> {
  return screen(root, "Members", async () => section("Find a member", await lookupForm()));
}

function adjustmentForm(memberId: string, reload: () => void): HTMLFormElement {
  return actionForm(
    { "aria-label": "Adjust points" },
    [
      h(
        "label",
        { class: "field" },
        h("span", {}, "Points (+ credit, − debit)"),
        h("input", { name: "points", required: true, inputmode: "numeric", pattern: "-?[0-9]+" }),
      ),
      h(
        "label",
        { class: "field wide" },
        h("span", {}, "Reason (required, recorded in the audit log)"),
        h("input", { name: "reason", required: true, maxlength: 500 }),
      ),
    ],
    "Adjust",
    async (form) => {
      const reason = value(form, "reason");
      if (!reason) throw new Error("A reason is required.");
      const points = value(form, "points");
      if (!/^-?\d+$/.test(points)) throw new Error("Points must be a whole number, like 250 or -40.");
      await api(
        "POST",
        `/members/${encodeURIComponent(memberId)}/adjustments`,
        { points: Number(points), reason },
        { idempotent: true },
      );
      setTimeout(reload, 600);
      return `Adjusted by ${points} points.`;
    },
  );
}

export function memberScreen(root: HTMLElement, id: string): Promise<void> {
  const reload = () => void memberScreen(root, id);
  return screen(root, `Member ${id}`, async () => {
    const view = await api<MemberView>("GET", `/members/${encodeURIComponent(id)}`);
    const b = view.balance;
    const activity = await pagedTable<Activity>(
      [
        { label: "When", cell: (a) => time(a.created_at) },
        { label: "Transaction", cell: (a) => h("code", {}, a.id) },
        { label: "Type", cell: (a) => a.type },
        { label: "Status", cell: (a) => a.status },
        { label: "Points", cell: (a) => String(a.points), numeric: true },
        {
          label: "Partner",
          // The operator's own adjustments name it as their partner; it has no partner page.
          cell: (a) =>
            a.partner.id === "operator" ? a.partner.name : link(`#/partners/${encodeURIComponent(a.partner.id)}`, a.partner.name),
        },
        { label: "Amount", cell: (a) => (a.amount ? `${a.amount.value} ${a.amount.unit}` : "—"), numeric: true },
        { label: "Order / reason", cell: (a) => a.order_ref ?? a.reason ?? "—" },
      ],
      (cursor) => api<Page<Activity>>("GET", `/members/${encodeURIComponent(id)}/activity${q({ limit: "20", cursor })}`),
      { "data-table": "activity" },
      "No activity yet.",
    );
    return [
      h(
        "dl",
        { class: "facts", "data-member": view.member.id },
        h("dt", {}, "Available"),
        h("dd", { "data-field": "available" }, String(b.points.available)),
        h("dt", {}, "Pending · held"),
        h("dd", {}, `${b.points.pending} · ${b.points.held}`),
        h("dt", {}, "Debt"),
        h("dd", {}, String(view.member.debt_points)),
        h("dt", {}, "Member since"),
        h("dd", {}, time(view.member.created_at)),
      ),
      section(
        "Expiring in the next 90 days",
        b.expiring.length === 0
          ? h("p", { class: "empty" }, "Nothing expires in the next 90 days.")
          : table(
              [
                { label: "Points", cell: (e) => String(e.points), numeric: true },
                { label: "Expires", cell: (e) => time(e.expires_at) },
              ],
              b.expiring,
            ),
      ),
      section(
        "Links",
        table(
          [
            { label: "Partner", cell: (l) => link(`#/partners/${encodeURIComponent(l.partner_id)}`, l.partner_id) },
            { label: "Member ref", cell: (l) => h("code", {}, l.member_ref) },
            { label: "Linked", cell: (l) => time(l.linked_at) },
          ],
          view.member.links,
          { "data-table": "links" },
        ),
      ),
      section("Activity across partners", activity),
      writeOnly(section("Adjustment", adjustmentForm(view.member.id, reload))),
    ];
  });
}
