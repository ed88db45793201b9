import { api, type Page } from "../api";
import { amount, h, section, table, time } from "../dom";
import { actionForm, confirmDialog, errorBox, pagedTable, screen, value, writeOnly } from "../ui";
import { fundingText, type Partner } from "./partners";
import { type RateCard, rateCardForm, rateCardTable } from "./rate-cards";

/** One partner: funding, exposure, payouts due, keys, rate-card versions, status; and its writes. */

function moneyForm(partner: Partner, kind: "payments" | "payouts", currency: string, reload: () => void): HTMLFormElement {
  const label = kind === "payments" ? "Record payment" : "Record payout";
  return actionForm(
    { "aria-label": label },
    [
      h(
        "label",
        { class: "field" },
        h("span", {}, `Amount (${currency})`),
        h("input", { name: "value", required: true, inputmode: "decimal" }),
      ),
      h("label", { class: "field" }, h("span", {}, "Reference"), h("input", { name: "reference", required: true })),
    ],
    label,
    async (form) => {
      await api(
        "POST",
        `/partners/${encodeURIComponent(partner.id)}/${kind}`,
        { amount: { value: value(form, "value"), unit: currency }, reference: value(form, "reference") },
        { idempotent: true },
      );
      reload();
      return undefined;
    },
  );
}

function keyForm(partner: Partner, reload: () => void): HTMLFormElement {
  return actionForm(
    { "aria-label": "Add key" },
    [
      h("label", { class: "field" }, h("span", {}, "Key id (kid)"), h("input", { name: "kid", required: true })),
      h(
        "label",
        { class: "field wide" },
        h("span", {}, "Public JWK (Ed25519 OKP or P-256 EC)"),
        h("textarea", { name: "jwk", rows: 3, required: true, placeholder: '{"kty":"OKP","crv":"Ed25519","x":"…"}' }),
      ),
    ],
    "Add key",
    async (form) => {
      let jwk: unknown;
      try {
        jwk = JSON.parse(value(form, "jwk"));
      } catch {
        throw new Error("The public JWK is not valid JSON.");
      }
      await api("POST", `/partners/${encodeURIComponent(partner.id)}/keys`, { kid: value(form, "kid"), public_jwk: jwk });
      reload();
      return undefined;
    },
  );
}

function keysTable(partner: Partner, reload: () => void): HTMLElement {
  const keys = partner.keys ?? [];
  const status = h("div", { class: "status" });
  const revoke = async (kid: string) => {
    if (!(await confirmDialog(`Revoke key ${kid} of ${partner.id}? Requests signed with it are refused at once.`, "Revoke")))
      return;
    try {
      await api("DELETE", `/partners/${encodeURIComponent(partner.id)}/keys/${encodeURIComponent(kid)}`);
      reload();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  return h(
    "div",
    {},
    table(
      [
        { label: "Key id", cell: (k) => h("code", {}, k.kid) },
        { label: "Alg", cell: (k) => k.alg },
        { label: "Status", cell: (k) => k.status },
        { label: "Added", cell: (k) => time(k.created_at) },
        {
          label: "",
          cell: (k) =>
            k.status === "active"
              ? writeOnly(h("button", { type: "button", class: "danger", onclick: () => revoke(k.kid) }, "Revoke"))
              : null,
        },
      ],
      keys,
      { "data-table": "keys" },
    ),
    status,
  );
}

function statusControl(partner: Partner, reload: () => void): HTMLElement {
  const next = partner.status === "active" ? "suspended" : "active";
  const label = next === "suspended" ? "Suspend partner" : "Reactivate partner";
  const status = h("div", { class: "status" });
  const button = h("button", { type: "button", class: next === "suspended" ? "danger" : "" }, label);
  button.addEventListener("click", async () => {
    if (!(await confirmDialog(`${label} ${partner.name}?`, label))) return;
    try {
      await api("PATCH", `/partners/${encodeURIComponent(partner.id)}`, { status: next });
      reload();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  return h("div", {}, button, status);
}

export function partnerScreen(root: HTMLElement, id: string): Promise<void> {
  const reload = () => void partnerScreen(root, id);
  return screen(root, `Partner ${id}`, async () => {
    const [{ partner }, { currency }] = await Promise.all([
      api<{ partner: Partner }>("GET", `/partners/${encodeURIComponent(id)}`),
      api<{ currency: string }>("GET", "/metrics"),
    ]);
    const f = partner.funding;
    const cards = await pagedTable<RateCard>(
      rateCardTable,
      (cursor) =>
        api<Page<RateCard>>(
          "GET",
          `/partners/${encodeURIComponent(id)}/rate-cards?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        ),
      { "data-table": "rate-cards" },
      "No rate card yet.",
    );
    return [
      h(
        "dl",
        { class: "facts", "data-partner": partner.id },
        h("dt", {}, "Name"),
        h("dd", {}, partner.name),
        h("dt", {}, "Status"),
        h("dd", { "data-field": "status" }, partner.status),
        h("dt", {}, "Funding"),
        h("dd", {}, fundingText(f)),
        f.available_credit ? [h("dt", {}, "Available credit"), h("dd", {}, amount(f.available_credit))] : null,
        h("dt", {}, "Exposure"),
        h("dd", { "data-field": "exposure" }, amount(f.exposure)),
        h("dt", {}, "Payout due"),
        h("dd", { "data-field": "payout_due" }, amount(partner.payout_due)),
        h("dt", {}, "Earns in / redeems in"),
        h("dd", {}, `${(partner.earn_units ?? []).join(", ") || "—"} / ${(partner.burn_units ?? []).join(", ") || "—"}`),
        h("dt", {}, "Pending days · hold TTL"),
        h("dd", {}, `${partner.pending_days} d · ${partner.hold_ttl_seconds} s`),
        h("dt", {}, "Since"),
        h("dd", {}, time(partner.created_at)),
      ),
      writeOnly(statusControl(partner, reload)),
      section("Rate-card versions", cards, writeOnly(rateCardForm(partner.id, currency, reload))),
      section("Keys", keysTable(partner, reload), writeOnly(keyForm(partner, reload))),
      writeOnly(
        section(
          "Payments and payouts",
          h(
            "p",
            {},
            "A payment tops up a prepaid balance or lowers a postpaid exposure; a payout pays out what closed statements owe the partner.",
          ),
          moneyForm(partner, "payments", currency, reload),
          moneyForm(partner, "payouts", currency, reload),
        ),
      ),
    ];
  });
}
