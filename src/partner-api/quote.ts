import { createRoute, z } from "@hono/zod-openapi";
import { rateCardAt } from "../catalogue/catalogue";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { runRead } from "../http/runner";
import { DecimalString, errorResponses, jsonResponse, PARTNER_AUTH_ERRORS, UnitCode } from "../http/schemas";
import { burnRateFor, earnRateFor, type RateCard } from "../rates/cards";
import { activeCampaignMultipliers, earnPoints, pointsForDiscount } from "../rates/conversion";
import { type Decimal, formatDecimal, fromInt, mul, parseDecimal } from "../rates/decimal";

/** The most points one transaction may carry (partner-api.md §1); a quote beyond it is refused. */
const MAX_POINTS = 1_000_000_000_000n;

const QuoteQuery = z.strictObject({
  unit: UnitCode.openapi({ param: { name: "unit", in: "query" } }),
  value: DecimalString.openapi({ param: { name: "value", in: "query" } }),
});

const QuoteSchema = z
  .object({
    quote: z.object({
      amount: z.object({ value: z.string(), unit: z.string() }),
      earn: z
        .object({
          points: z.number().int().openapi({ description: "Points this amount earns now (fractions dropped)" }),
          rate: z.string().openapi({ description: "Points per unit, before campaigns", example: "1" }),
          multiplier: z.string().openapi({ description: "Product of the active campaigns' multipliers", example: "2" }),
          campaigns: z.array(z.string()).openapi({ description: "Names of the active campaigns" }),
        })
        .nullable()
        .openapi({ description: "null when this partner does not earn in the unit" }),
      burn: z
        .object({
          points: z.number().int().openapi({ description: "Points needed for a discount of this amount (rounded up)" }),
          value_per_point: z.string().openapi({ example: "0.01" }),
        })
        .nullable()
        .openapi({ description: "null when this partner does not redeem in the unit" }),
      rate_card_id: z.string(),
    }),
  })
  .openapi("Quote");

function tooLarge(): ApiError {
  return new ApiError("invalid_param", `value is too large: a transaction carries at most ${MAX_POINTS} points`, "value");
}

/** `GET /v1/quote?unit=CNY&value=58.00` (partner-api.md §5). */
export const quoteRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/quote",
      tags: ["Partner: earn and burn"],
      summary: "What an amount earns at this partner now, and how many points that amount of discount costs",
      security: [{ CoalitionSignature: [] }],
      request: { query: QuoteQuery },
      responses: {
        200: jsonResponse("The quote, at the rate card in force now", QuoteSchema),
        ...errorResponses("invalid_param", "unknown_field", "unknown_unit", "no_rate_card", ...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const { unit, value } = c.req.valid("query");
      const partnerId = c.get("partner").id;
      // Decided on the cached catalogue; the batch (the admission checks) confirms its version.
      return runRead(c, ({ catalogue, now }) => ({
        statements: [],
        answer: () => c.json({ quote: quote(rateCardAt(catalogue, partnerId, now), unit, value, now) }, 200),
      }));
    },
  );
};

function quote(card: RateCard | undefined, unit: string, value: string, now: number) {
  if (!card) throw new ApiError("no_rate_card", "this partner has no rate card in force");
  const earnRate = earnRateFor(card, unit);
  const burnRate = burnRateFor(card, unit);
  if (earnRate === undefined && burnRate === undefined) {
    throw new ApiError("unknown_unit", `this partner neither earns nor redeems in ${unit}`, "unit");
  }
  const amount = parseDecimal(value);

  let earn: { points: number; rate: string; multiplier: string; campaigns: string[] } | null = null;
  if (earnRate !== undefined) {
    const active = activeCampaignMultipliers(card.campaigns, new Date(now));
    const multipliers = active.map((a) => a.multiplier);
    const points = earnPoints({ amount, pointsPerUnit: earnRate, multipliers });
    if (points > MAX_POINTS) throw tooLarge();
    const product = multipliers.reduce<Decimal>((acc, m) => mul(acc, m), fromInt(1));
    earn = {
      points: Number(points),
      rate: formatDecimal(earnRate),
      multiplier: formatDecimal(product),
      campaigns: active.map((a) => a.name),
    };
  }

  let burn: { points: number; value_per_point: string } | null = null;
  if (burnRate !== undefined) {
    const points = pointsForDiscount({ amount, valuePerPoint: burnRate });
    if (points > MAX_POINTS) throw tooLarge();
    burn = { points: Number(points), value_per_point: formatDecimal(burnRate) };
  }

  return { amount: { value, unit }, earn, burn, rate_card_id: card.id };
}
