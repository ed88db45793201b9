import { activeCampaignMultipliers, type Campaign, earnPoints } from "../../src/rates/conversion";
import { parseDecimal } from "../../src/rates/decimal";
import { ApiError, api } from "../api";
import { type Column, h, replaceChildren, time } from "../dom";
import { actionForm, errorBox, value } from "../ui";

/**
 * Rate-card versions of a partner, and a new version: the form starts from the latest version,
 * and previews what an amount earns under it with the exchange's own conversion code
 * (src/rates/conversion.ts, bundled: exact decimals, floored once), never floats.
 */

export interface RateCard {
  id: string;
  effective_from: string;
  earn: { unit: string; points_per_unit: string }[];
  burn: { unit: string; value_per_point: string }[];
  issue_price: string;
  redeem_price: string;
  campaigns: (Campaign & { days_of_week?: number[] })[];
  created_at: string;
  created_by?: string;
}

export const rateCardTable: Column<RateCard>[] = [
  { label: "Version", cell: (c) => h("code", {}, c.id) },
  { label: "Effective from", cell: (c) => time(c.effective_from) },
  { label: "Earn", cell: (c) => c.earn.map((e) => `${e.points_per_unit} pt / ${e.unit}`).join(", ") || "—" },
  { label: "Burn", cell: (c) => c.burn.map((b) => `${b.value_per_point} ${b.unit} / pt`).join(", ") || "—" },
  { label: "Issue / redeem price", cell: (c) => `${c.issue_price} / ${c.redeem_price}` },
  {
    label: "Campaigns",
    cell: (c) =>
      c.campaigns.length === 0
        ? "—"
        : h(
            "ul",
            {},
            ...c.campaigns.map((k) =>
              h(
                "li",
                {},
                `${k.name} ×${k.multiplier} `,
                time(k.from),
                " – ",
                time(k.to),
                k.days_of_week ? ` (days ${k.days_of_week.join(",")})` : "",
              ),
            ),
          ),
  },
];

/** "CNY 1" per line ⇄ [{ unit, [key]: rate }]. */
function parseLines<K extends string>(text: string, key: K): ({ unit: string } & Record<K, string>)[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [unit = "", rate = ""] = l.split(/\s+/);
      return { unit, [key]: rate } as { unit: string } & Record<K, string>;
    });
}

function previewText(form: HTMLFormElement): string {
  const [value = "", unit = ""] = (form.elements.namedItem("preview") as HTMLInputElement).value.trim().split(/\s+/);
  const earn = parseLines((form.elements.namedItem("earn") as HTMLTextAreaElement).value, "points_per_unit");
  const rate = earn.find((e) => e.unit === unit);
  if (!rate) return `This version earns nothing in ${unit || "that unit"}.`;
  try {
    const campaigns = JSON.parse((form.elements.namedItem("campaigns") as HTMLTextAreaElement).value || "[]") as Campaign[];
    const from = (form.elements.namedItem("effective_from") as HTMLInputElement).value;
    const at = from ? new Date(from) : new Date();
    const active = activeCampaignMultipliers(campaigns, at);
    const points = earnPoints({
      amount: parseDecimal(value),
      pointsPerUnit: parseDecimal(rate.points_per_unit),
      multipliers: active.map((a) => a.multiplier),
    });
    const with_ = active.length ? ` (with ${active.map((a) => a.name).join(", ")})` : "";
    return `${value} ${unit} earns ${points} points${with_}.`;
  } catch (e) {
    return `No preview: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const FIELD_OF_PARAM: Record<string, string> = {
  effective_from: "effective_from",
  earn: "earn",
  burn: "burn",
  issue_price: "issue_price",
  redeem_price: "redeem_price",
  campaigns: "campaigns",
};

export function rateCardForm(partnerId: string, currency: string, reload: () => void): HTMLElement {
  const box = h("div", { class: "rate-card-form" }, h("h3", {}, "New rate-card version"));
  void api<{ data: RateCard[] }>("GET", `/partners/${encodeURIComponent(partnerId)}/rate-cards?limit=100`)
    .then(({ data }) => {
      const latest = [...data].sort((a, b) => Date.parse(b.effective_from) - Date.parse(a.effective_from))[0];
      box.append(formFor(partnerId, currency, latest, reload));
    })
    .catch((e) => box.append(errorBox(e)));
  return box;
}

function formFor(partnerId: string, currency: string, latest: RateCard | undefined, reload: () => void): HTMLFormElement {
  const preview = h("output", { name: "preview-result", "aria-live": "polite", class: "preview" });
  const text = (name: string, label: string, initial: string, hint?: string) =>
    h(
      "label",
      { class: "field" },
      h("span", {}, label),
      h("input", { name, value: initial }),
      hint ? h("small", {}, hint) : null,
    );
  const area = (name: string, label: string, initial: string, hint: string) =>
    h("label", { class: "field wide" }, h("span", {}, label), h("textarea", { name, rows: 3 }, initial), h("small", {}, hint));
  const form = actionForm(
    { "aria-label": "New rate-card version" },
    [
      text("effective_from", "Effective from", "", "RFC 3339, e.g. 2026-12-24T00:00:00Z; empty: now"),
      area(
        "earn",
        "Earn (unit and points per unit, one a line)",
        (latest?.earn ?? []).map((e) => `${e.unit} ${e.points_per_unit}`).join("\n"),
        "e.g. CNY 1",
      ),
      area(
        "burn",
        "Burn (unit and value per point, one a line)",
        (latest?.burn ?? []).map((b) => `${b.unit} ${b.value_per_point}`).join("\n"),
        "e.g. CNY 0.01",
      ),
      text("issue_price", `Issue price (${currency} per point)`, latest?.issue_price ?? ""),
      text("redeem_price", `Redeem price (${currency} per point)`, latest?.redeem_price ?? ""),
      area(
        "campaigns",
        "Campaigns (JSON)",
        JSON.stringify(latest?.campaigns ?? []),
        'e.g. [{"name":"Double Saturdays","multiplier":"2","from":"…","to":"…","days_of_week":[6]}]',
      ),
      h(
        "label",
        { class: "field" },
        h("span", {}, "Preview: an amount"),
        h("input", { name: "preview", value: `58.00 ${latest?.earn[0]?.unit ?? currency}` }),
      ),
      preview,
    ],
    "Add rate-card version",
    async (f) => {
      for (const el of f.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      let campaigns: unknown;
      try {
        campaigns = JSON.parse(value(f, "campaigns") || "[]");
      } catch {
        throw new Error("Campaigns are not valid JSON.");
      }
      const body: Record<string, unknown> = {
        earn: parseLines(value(f, "earn"), "points_per_unit"),
        burn: parseLines(value(f, "burn"), "value_per_point"),
        issue_price: value(f, "issue_price"),
        redeem_price: value(f, "redeem_price"),
        campaigns,
      };
      if (value(f, "effective_from")) body.effective_from = value(f, "effective_from");
      try {
        const created = await api<{ rate_card: RateCard }>("POST", `/partners/${encodeURIComponent(partnerId)}/rate-cards`, body);
        setTimeout(reload, 600);
        return `Added version ${created.rate_card.id}, effective from ${created.rate_card.effective_from}.`;
      } catch (e) {
        // The API's param (e.g. "earn.0.points_per_unit") names the field at fault.
        const field = e instanceof ApiError && e.param ? FIELD_OF_PARAM[e.param.split(".")[0] ?? ""] : undefined;
        if (field) f.querySelector(`[name="${field}"]`)?.setAttribute("aria-invalid", "true");
        throw e;
      }
    },
  );
  const update = () => replaceChildren(preview, previewText(form));
  form.addEventListener("input", update);
  update();
  return form;
}
