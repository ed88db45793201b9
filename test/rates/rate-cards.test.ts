import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { burnRateFor, earnRateFor, rateCardInForce } from "../../src/rates/cards";
import { formatDecimal } from "../../src/rates/decimal";
import { createPartner, operator } from "../support/exchange";

const CARD = {
  earn: [
    { unit: "CNY", points_per_unit: "1" },
    { unit: "STAR", points_per_unit: "0.5" },
  ],
  burn: [{ unit: "CNY", value_per_point: "0.01" }],
  issue_price: "0.010",
  redeem_price: "0.008",
};

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

async function post(partnerId: string, body: unknown, opts: { scope?: string } = {}) {
  return operator("POST", `/partners/${partnerId}/rate-cards`, body, opts.scope ? { tokenOptions: { scope: opts.scope } } : {});
}

describe("rate cards (operator API)", () => {
  it("creates a version with an rc_ id, defaults effective_from to now, and audits it in the same batch", async () => {
    const p = await createPartner();
    const before = Date.now();
    const campaigns = [
      { name: "Double Saturdays", multiplier: "2", from: "2030-12-01T00:00:00Z", to: "2031-01-01T00:00:00Z", days_of_week: [6] },
    ];
    const r = await post(p.id, { ...CARD, campaigns });
    expect(r.status).toBe(201);
    const card = r.body.rate_card;
    expect(card.id).toMatch(/^rc_[0-9a-z]{16}$/);
    expect(card).toMatchObject({
      partner_id: p.id,
      earn: CARD.earn,
      burn: CARD.burn,
      issue_price: "0.01",
      redeem_price: "0.008",
      campaigns,
      created_by: "ops@coalition.test",
    });
    expect(Date.parse(card.effective_from)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(Date.parse(card.effective_from)).toBeLessThanOrEqual(Date.now());
    expect(card.created_at).toBe(card.effective_from);

    const row = await env.DB.prepare("SELECT * FROM rate_cards WHERE id = ?").bind(card.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({
      issue_price: "0.010",
      redeem_price: "0.008",
      issue_price_micros: 10_000,
      redeem_price_micros: 8_000,
    });

    const audit = await operator("GET", "/audit?action=rate_card.create&limit=100");
    expect(audit.status).toBe(200);
    const entry = audit.body.data.find((e: any) => e.detail.id === card.id);
    expect(entry).toMatchObject({ actor: "ops@coalition.test", action: "rate_card.create", target: p.id });
    expect(entry.detail.earn).toEqual(CARD.earn);
  });

  it("is found by rateCardInForce with exact decimals", async () => {
    const p = await createPartner();
    const r = await post(p.id, CARD);
    const card = await rateCardInForce(env.DB, p.id, Date.now());
    expect(card?.id).toBe(r.body.rate_card.id);
    expect(formatDecimal(earnRateFor(card!, "STAR")!)).toBe("0.5");
    expect(earnRateFor(card!, "MILE")).toBeUndefined();
    expect(formatDecimal(burnRateFor(card!, "CNY")!)).toBe("0.01");
    expect(burnRateFor(card!, "STAR")).toBeUndefined();
    expect(card!.issuePriceMicros).toBe(10_000n);
    expect(await rateCardInForce(env.DB, p.id, Date.now() - 3_600_000)).toBeUndefined();
  });

  it("accepts an effective_from in the future and refuses one in the past", async () => {
    const p = await createPartner();
    const future = iso(Date.now() + 86_400_000);
    const ok = await post(p.id, { ...CARD, effective_from: future });
    expect(ok.status).toBe(201);
    expect(ok.body.rate_card.effective_from).toBe(future);

    const past = await post(p.id, { ...CARD, effective_from: iso(Date.now() - 5_000) });
    expect(past.status).toBe(400);
    expect(past.body.error).toMatchObject({ type: "invalid_request", code: "invalid_body", param: "effective_from" });

    const garbage = await post(p.id, { ...CARD, effective_from: "tomorrow" });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error).toMatchObject({ code: "invalid_body", param: "effective_from" });
  });

  it("lists versions latest effective first, paginated", async () => {
    const p = await createPartner();
    const now = Date.now();
    const a = await post(p.id, CARD);
    const c = await post(p.id, { ...CARD, effective_from: iso(now + 7_200_000) });
    const b = await post(p.id, { ...CARD, effective_from: iso(now + 3_600_000) });
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);

    const all = await operator("GET", `/partners/${p.id}/rate-cards`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((x: any) => x.id)).toEqual([c, b, a].map((x) => x.body.rate_card.id));
    expect(all.body.next_cursor).toBeNull();

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const pageResult = await operator("GET", `/partners/${p.id}/rate-cards?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      expect(pageResult.status).toBe(200);
      expect(pageResult.body.data).toHaveLength(1);
      ids.push(pageResult.body.data[0].id);
      cursor = pageResult.body.next_cursor;
    } while (cursor);
    expect(ids).toEqual(all.body.data.map((x: any) => x.id));

    const bad = await operator("GET", `/partners/${p.id}/rate-cards?cursor=nope`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_param");
  });

  it("answers 404 partner_not_found for an unknown partner", async () => {
    const created = await post("no-such-partner", CARD);
    expect(created.status).toBe(404);
    expect(created.body.error.code).toBe("partner_not_found");
    const listed = await operator("GET", "/partners/no-such-partner/rate-cards");
    expect(listed.status).toBe(404);
    expect(listed.body.error.code).toBe("partner_not_found");
  });

  it("needs the admin scope to create", async () => {
    const p = await createPartner();
    const r = await post(p.id, CARD, { scope: "read" });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("scope_missing");
    const listed = await operator("GET", `/partners/${p.id}/rate-cards`, undefined, { tokenOptions: { scope: "read" } });
    expect(listed.status).toBe(200);
  });

  describe("validation", () => {
    const day = (offsetDays: number) => iso(Date.now() + offsetDays * 86_400_000);
    const campaign = { name: "Promo", multiplier: "2", from: day(-1), to: day(1) };
    const cases: [string, unknown, string, string | undefined][] = [
      ["an unknown top-level field", { ...CARD, currency: "CNY" }, "unknown_field", "currency"],
      [
        "an unknown field in an earn entry",
        { ...CARD, earn: [{ unit: "CNY", points_per_unit: "1", cap: "9" }] },
        "unknown_field",
        "earn.0.cap",
      ],
      [
        "an unknown field in a campaign",
        { ...CARD, campaigns: [{ ...campaign, note: "x" }] },
        "unknown_field",
        "campaigns.0.note",
      ],
      ["a lower-case unit", { ...CARD, earn: [{ unit: "cny", points_per_unit: "1" }] }, "invalid_body", "earn.0.unit"],
      ["a one-letter unit", { ...CARD, burn: [{ unit: "C", value_per_point: "1" }] }, "invalid_body", "burn.0.unit"],
      [
        "a duplicate earn unit",
        {
          ...CARD,
          earn: [
            { unit: "CNY", points_per_unit: "1" },
            { unit: "CNY", points_per_unit: "2" },
          ],
        },
        "invalid_body",
        "earn.1.unit",
      ],
      [
        "a duplicate burn unit",
        {
          ...CARD,
          burn: [
            { unit: "MILE", value_per_point: "1" },
            { unit: "MILE", value_per_point: "2" },
          ],
        },
        "invalid_body",
        "burn.1.unit",
      ],
      ["a zero earn rate", { ...CARD, earn: [{ unit: "CNY", points_per_unit: "0" }] }, "invalid_body", "earn.0.points_per_unit"],
      [
        "a negative burn value",
        { ...CARD, burn: [{ unit: "CNY", value_per_point: "-0.01" }] },
        "invalid_body",
        "burn.0.value_per_point",
      ],
      [
        "a rate with 7 decimals",
        { ...CARD, earn: [{ unit: "CNY", points_per_unit: "0.1234567" }] },
        "invalid_body",
        "earn.0.points_per_unit",
      ],
      ["a rate as a number", { ...CARD, earn: [{ unit: "CNY", points_per_unit: 1 }] }, "invalid_body", "earn.0.points_per_unit"],
      ["an exponent", { ...CARD, issue_price: "1e-2" }, "invalid_body", "issue_price"],
      ["a negative price", { ...CARD, redeem_price: "-0.001" }, "invalid_body", "redeem_price"],
      ["a price with 7 decimals", { ...CARD, issue_price: "0.0100001" }, "invalid_body", "issue_price"],
      ["a price over 1000", { ...CARD, issue_price: "1000.000001" }, "invalid_body", "issue_price"],
      ["a missing price", { earn: CARD.earn, burn: CARD.burn, issue_price: "0.01" }, "invalid_body", "redeem_price"],
      ["a missing earn list", { burn: CARD.burn, issue_price: "0.01", redeem_price: "0.01" }, "invalid_body", "earn"],
      [
        "a campaign ending before it starts",
        { ...CARD, campaigns: [{ ...campaign, to: day(-2) }] },
        "invalid_body",
        "campaigns.0.to",
      ],
      [
        "a campaign of zero length",
        { ...CARD, campaigns: [{ ...campaign, to: campaign.from }] },
        "invalid_body",
        "campaigns.0.to",
      ],
      ["a zero multiplier", { ...CARD, campaigns: [{ ...campaign, multiplier: "0" }] }, "invalid_body", "campaigns.0.multiplier"],
      ["a weekday 8", { ...CARD, campaigns: [{ ...campaign, days_of_week: [8] }] }, "invalid_body", "campaigns.0.days_of_week.0"],
      ["a weekday 0", { ...CARD, campaigns: [{ ...campaign, days_of_week: [0] }] }, "invalid_body", "campaigns.0.days_of_week.0"],
      [
        "a repeated weekday",
        { ...CARD, campaigns: [{ ...campaign, days_of_week: [6, 6] }] },
        "invalid_body",
        "campaigns.0.days_of_week",
      ],
      ["a campaign without a name", { ...CARD, campaigns: [{ ...campaign, name: "" }] }, "invalid_body", "campaigns.0.name"],
      [
        "a bad campaign time",
        { ...CARD, campaigns: [{ ...campaign, from: "2026-13-01T00:00:00Z" }] },
        "invalid_body",
        "campaigns.0.from",
      ],
      ["21 campaigns", { ...CARD, campaigns: Array.from({ length: 21 }, () => campaign) }, "invalid_body", "campaigns"],
      [
        "21 earn units",
        { ...CARD, earn: Array.from({ length: 21 }, (_, i) => ({ unit: `U${i}X`, points_per_unit: "1" })) },
        "invalid_body",
        "earn",
      ],
    ];
    it.each(cases)("refuses %s", async (_what, body, code, param) => {
      const p = await createPartner();
      const r = await post(p.id, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ type: "invalid_request", code, ...(param === undefined ? {} : { param }) });
      const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM rate_cards WHERE partner_id = ?")
        .bind(p.id)
        .first<{ n: number }>();
      expect(count?.n).toBe(0);
    });

    it("accepts the limits: 20 of each, price 1000, zero prices, empty lists, every weekday", async () => {
      const p = await createPartner();
      const r = await post(p.id, {
        earn: Array.from({ length: 20 }, (_, i) => ({ unit: `U${i}X`, points_per_unit: "0.000001" })),
        burn: [],
        issue_price: "1000",
        redeem_price: "0",
        campaigns: Array.from({ length: 20 }, (_, i) => ({ ...campaign, name: `c${i}`, days_of_week: [1, 2, 3, 4, 5, 6, 7] })),
      });
      expect(r.status).toBe(201);
      const row = await env.DB.prepare("SELECT issue_price_micros, redeem_price_micros FROM rate_cards WHERE id = ?")
        .bind(r.body.rate_card.id)
        .first();
      expect(row).toEqual({ issue_price_micros: 1_000_000_000, redeem_price_micros: 0 });
    });
  });
});
