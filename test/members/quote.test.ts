import { describe, expect, it } from "vitest";
import { createPartner, operator } from "../support/exchange";

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const DAY = 86_400_000;

interface Quote {
  quote: {
    amount: { value: string; unit: string };
    earn: { points: number; rate: string; multiplier: string; campaigns: string[] } | null;
    burn: { points: number; value_per_point: string } | null;
    rate_card_id: string;
  };
}

async function rateCard(partnerId: string, body: Record<string, unknown>): Promise<string> {
  const r = await operator("POST", `/partners/${partnerId}/rate-cards`, { issue_price: "0.010", redeem_price: "0.008", ...body });
  if (r.status !== 201) throw new Error(`rate card: ${r.text}`);
  return r.body.rate_card.id as string;
}

describe("GET /v1/quote", () => {
  it("answers 422 no_rate_card before the partner has one", async () => {
    const p = await createPartner();
    const r = await p.client.get("/v1/quote?unit=CNY&value=58.00");
    expect(r.status).toBe(422);
    if (!r.ok) expect(r.error).toMatchObject({ type: "invalid_request", code: "no_rate_card" });
  });

  it("quotes earn and burn with the campaigns active now (overlapping ones multiply)", async () => {
    const p = await createPartner();
    const now = Date.now();
    const id = await rateCard(p.id, {
      earn: [
        { unit: "CNY", points_per_unit: "1" },
        { unit: "STAR", points_per_unit: "0.5" },
      ],
      burn: [
        { unit: "CNY", value_per_point: "0.01" },
        { unit: "MILE", value_per_point: "0.8" },
      ],
      campaigns: [
        { name: "Double week", multiplier: "2", from: iso(now - DAY), to: iso(now + DAY) },
        {
          name: "Every day bonus",
          multiplier: "1.5",
          from: iso(now - DAY),
          to: iso(now + DAY),
          days_of_week: [1, 2, 3, 4, 5, 6, 7],
        },
        { name: "Next month", multiplier: "10", from: iso(now + 30 * DAY), to: iso(now + 60 * DAY) },
        { name: "Last month", multiplier: "10", from: iso(now - 60 * DAY), to: iso(now - 30 * DAY) },
      ],
    });

    const cny = await p.client.get<Quote>("/v1/quote?unit=CNY&value=58.00");
    expect(cny.status).toBe(200);
    if (!cny.ok) throw new Error(cny.text);
    expect(cny.data).toEqual({
      quote: {
        amount: { value: "58.00", unit: "CNY" },
        // 58 × 1 × 2 × 1.5 = 174
        earn: { points: 174, rate: "1", multiplier: "3", campaigns: ["Double week", "Every day bonus"] },
        // 58.00 / 0.01
        burn: { points: 5800, value_per_point: "0.01" },
        rate_card_id: id,
      },
    });

    // Earn only: 3.3 × 0.5 × 3 = 4.95, floored.
    const star = await p.client.get<Quote>("/v1/quote?unit=STAR&value=3.3");
    if (!star.ok) throw new Error(star.text);
    expect(star.data.quote.earn).toEqual({
      points: 4,
      rate: "0.5",
      multiplier: "3",
      campaigns: ["Double week", "Every day bonus"],
    });
    expect(star.data.quote.burn).toBeNull();

    // Burn only: 1.00 / 0.8 = 1.25, rounded up.
    const mile = await p.client.get<Quote>("/v1/quote?unit=MILE&value=1.00");
    if (!mile.ok) throw new Error(mile.text);
    expect(mile.data.quote.earn).toBeNull();
    expect(mile.data.quote.burn).toEqual({ points: 2, value_per_point: "0.8" });
  });

  it("ignores a campaign whose weekdays exclude today and reports multiplier 1 without campaigns", async () => {
    const p = await createPartner();
    const now = Date.now();
    const today = new Date(now).getUTCDay() || 7;
    const notToday = [1, 2, 3, 4, 5, 6, 7].filter((d) => d !== today);
    await rateCard(p.id, {
      earn: [{ unit: "CNY", points_per_unit: "1" }],
      burn: [],
      campaigns: [{ name: "Other days", multiplier: "2", from: iso(now - DAY), to: iso(now + DAY), days_of_week: notToday }],
    });
    const r = await p.client.get<Quote>("/v1/quote?unit=CNY&value=10.99");
    if (!r.ok) throw new Error(r.text);
    expect(r.data.quote.earn).toEqual({ points: 10, rate: "1", multiplier: "1", campaigns: [] });
    expect(r.data.quote.burn).toBeNull();
  });

  it("uses the latest version in force now, not a future one", async () => {
    const p = await createPartner();
    const first = await rateCard(p.id, { earn: [{ unit: "CNY", points_per_unit: "1" }], burn: [] });
    const second = await rateCard(p.id, { earn: [{ unit: "CNY", points_per_unit: "2" }], burn: [] });
    const future = await rateCard(p.id, {
      effective_from: iso(Date.now() + 3_600_000),
      earn: [{ unit: "CNY", points_per_unit: "100" }],
      burn: [],
    });
    expect(new Set([first, second, future]).size).toBe(3);
    const r = await p.client.get<Quote>("/v1/quote?unit=CNY&value=5");
    if (!r.ok) throw new Error(r.text);
    expect(r.data.quote.rate_card_id).toBe(second);
    expect(r.data.quote.earn).toMatchObject({ points: 10, rate: "2" });
  });

  it("answers 422 unknown_unit for a unit the partner neither earns nor redeems in", async () => {
    const p = await createPartner();
    await rateCard(p.id, { earn: [{ unit: "CNY", points_per_unit: "1" }], burn: [{ unit: "CNY", value_per_point: "0.01" }] });
    const r = await p.client.get("/v1/quote?unit=USD&value=1.00");
    expect(r.status).toBe(422);
    if (!r.ok) expect(r.error).toMatchObject({ type: "invalid_request", code: "unknown_unit", param: "unit" });
  });

  it("validates the query strictly", async () => {
    const p = await createPartner();
    await rateCard(p.id, { earn: [{ unit: "CNY", points_per_unit: "1" }], burn: [] });
    const cases: [string, string, string][] = [
      ["/v1/quote?unit=CNY&value=abc", "invalid_param", "value"],
      ["/v1/quote?unit=CNY&value=0", "invalid_param", "value"],
      ["/v1/quote?unit=CNY&value=-1", "invalid_param", "value"],
      ["/v1/quote?unit=CNY&value=1.1234567", "invalid_param", "value"],
      ["/v1/quote?unit=CNY", "invalid_param", "value"],
      ["/v1/quote?unit=cny&value=1", "invalid_param", "unit"],
      ["/v1/quote?unit=CNY&value=1&extra=1", "unknown_field", "extra"],
      ["/v1/quote?unit=CNY&value=1000000000000000", "invalid_param", "value"],
    ];
    for (const [target, code, param] of cases) {
      const r = await p.client.get(target);
      expect(r.status, target).toBe(400);
      if (!r.ok) expect(r.error, target).toMatchObject({ code, param });
    }
  });

  it("requires a signature", async () => {
    const { workerFetch, BASE_URL } = await import("../support/exchange");
    const r = await workerFetch(new Request(`${BASE_URL}/v1/quote?unit=CNY&value=1`));
    expect(r.status).toBe(401);
  });
});
