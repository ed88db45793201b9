import { api, type Page } from "../api";
import { type Amount, amount, h, link, section, time } from "../dom";
import { actionForm, pagedTable, screen, value, writeOnly } from "../ui";

/** Partners: the list (paginated), and creating a partner. */

export interface Partner {
  id: string;
  name: string;
  status: string;
  funding: {
    mode: "prepaid" | "postpaid";
    balance?: Amount;
    credit_limit?: Amount;
    available_credit?: Amount;
    exposure: Amount;
    receivables?: string;
  };
  payout_due: Amount;
  pending_days: number;
  hold_ttl_seconds: number;
  earn_units?: string[];
  burn_units?: string[];
  keys?: { kid: string; alg: string; status: string; created_at: string; revoked_at?: string }[];
  created_at: string;
}

export function fundingText(f: Partner["funding"]): string {
  return f.mode === "prepaid" ? `prepaid, balance ${amount(f.balance)}` : `postpaid, credit limit ${amount(f.credit_limit)}`;
}

function createForm(currency: string): HTMLFormElement {
  return actionForm(
    { "aria-label": "Create partner" },
    [
      h("label", { class: "field" }, h("span", {}, "Id"), h("input", { name: "id", required: true, pattern: "[a-z0-9-]{2,40}" })),
      h("label", { class: "field" }, h("span", {}, "Name"), h("input", { name: "name", required: true })),
      h(
        "label",
        { class: "field" },
        h("span", {}, "Funding"),
        h(
          "select",
          { name: "mode" },
          h("option", { value: "postpaid" }, "postpaid (credit limit)"),
          h("option", { value: "prepaid" }, "prepaid (balance)"),
        ),
      ),
      h(
        "label",
        { class: "field" },
        h("span", {}, `Credit limit or balance (${currency})`),
        h("input", { name: "amount", required: true, inputmode: "decimal" }),
      ),
    ],
    "Create partner",
    async (form) => {
      const money = { value: value(form, "amount"), unit: currency };
      const mode = value(form, "mode");
      const funding = mode === "prepaid" ? { mode, balance: money } : { mode, credit_limit: money };
      const created = await api<{ partner: Partner }>("POST", "/partners", {
        id: value(form, "id"),
        name: value(form, "name"),
        funding,
      });
      location.hash = `#/partners/${encodeURIComponent(created.partner.id)}`;
      return undefined;
    },
  );
}

export function partnersScreen(root: HTMLElement): Promise<void> {
  return screen(root, "Partners", async () => {
    const { currency } = await api<{ currency: string }>("GET", "/metrics");
    const list = await pagedTable<Partner>(
      [
        { label: "Partner", cell: (p) => link(`#/partners/${encodeURIComponent(p.id)}`, p.name) },
        { label: "Id", cell: (p) => h("code", {}, p.id) },
        { label: "Status", cell: (p) => h("span", { class: `status-${p.status}` }, p.status) },
        { label: "Funding", cell: (p) => fundingText(p.funding) },
        { label: "Exposure", cell: (p) => amount(p.funding.exposure), numeric: true },
        { label: "Payout due", cell: (p) => amount(p.payout_due), numeric: true },
        { label: "Since", cell: (p) => time(p.created_at) },
      ],
      (cursor) => api<Page<Partner>>("GET", `/partners?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
      { "data-table": "partners" },
    );
    return [list, writeOnly(section("New partner", createForm(currency)))];
  });
}
