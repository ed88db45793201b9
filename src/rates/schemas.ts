import { z } from "@hono/zod-openapi";
import { parseRfc3339 } from "../db/time";
import { DecimalString, NonNegativeDecimalString, Rfc3339, UnitCode } from "../http/schemas";
import { cmp, fromInt, parseDecimal } from "./decimal";

/** Wire schemas of rate cards (operator-api.md "Rates") and of a quote at one (partner-api.md §5). */

const MAX_ENTRIES = 20;
/** Sanity bounds: far above any real program, low enough that every conversion stays exact and small. */
const MAX_RATE = fromInt(1_000_000);
const MAX_MULTIPLIER = fromInt(1_000);
const MAX_PRICE = fromInt(1_000);

function atMost(limit: ReturnType<typeof fromInt>) {
  // The base schema has already checked the format; a bad string fails there, not here.
  return (s: string) => {
    try {
      return cmp(parseDecimal(s), limit) <= 0;
    } catch {
      return true;
    }
  };
}

const Rate = DecimalString.refine(atMost(MAX_RATE), "must be at most 1000000");
const Price = NonNegativeDecimalString.refine(atMost(MAX_PRICE), "must be at most 1000");

const EarnEntry = z.strictObject({ unit: UnitCode, points_per_unit: Rate }).openapi("RateCardEarn");
const BurnEntry = z.strictObject({ unit: UnitCode, value_per_point: Rate }).openapi("RateCardBurn");

const CampaignSchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    multiplier: DecimalString.refine(atMost(MAX_MULTIPLIER), "must be at most 1000"),
    from: Rfc3339,
    to: Rfc3339,
    days_of_week: z
      .array(z.number().int().min(1).max(7))
      .min(1)
      .max(7)
      .optional()
      .openapi({ description: "ISO weekdays in UTC, 1 = Monday … 7 = Sunday; absent: every day" }),
  })
  .superRefine((c, ctx) => {
    const from = parseRfc3339(c.from);
    const to = parseRfc3339(c.to);
    if (from !== undefined && to !== undefined && from >= to) {
      ctx.addIssue({ code: "custom", message: "must be after from", path: ["to"] });
    }
    if (c.days_of_week && new Set(c.days_of_week).size !== c.days_of_week.length) {
      ctx.addIssue({ code: "custom", message: "must not repeat a day", path: ["days_of_week"] });
    }
  })
  .openapi("RateCardCampaign");

function noDuplicateUnits(list: readonly { unit: string }[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    if (seen.has(entry.unit))
      ctx.addIssue({ code: "custom", message: `unit ${entry.unit} appears twice`, path: [field, i, "unit"] });
    seen.add(entry.unit);
  });
}

export const CreateRateCard = z
  .strictObject({
    effective_from: Rfc3339.optional().openapi({ description: "Default now; never in the past" }),
    earn: z.array(EarnEntry).max(MAX_ENTRIES),
    burn: z.array(BurnEntry).max(MAX_ENTRIES),
    issue_price: Price.openapi({ description: "Settlement-currency money the partner pays per point it issues" }),
    redeem_price: Price.openapi({ description: "Settlement-currency money the operator pays per point redeemed there" }),
    campaigns: z.array(CampaignSchema).max(MAX_ENTRIES).optional(),
  })
  .superRefine((body, ctx) => {
    noDuplicateUnits(body.earn, "earn", ctx);
    noDuplicateUnits(body.burn, "burn", ctx);
  })
  .openapi("RateCardInput", {
    example: {
      earn: [{ unit: "CNY", points_per_unit: "1" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issue_price: "0.010",
      redeem_price: "0.008",
      campaigns: [
        {
          name: "Double Saturdays",
          multiplier: "2",
          from: "2027-01-01T00:00:00Z",
          to: "2027-02-01T00:00:00Z",
          days_of_week: [6],
        },
      ],
    },
  });

export const RateCardSchema = z
  .object({
    id: z.string().openapi({ example: "rc_0123456789abcdefghjkmnpqrstv" }),
    partner_id: z.string(),
    effective_from: z.string(),
    earn: z.array(z.object({ unit: z.string(), points_per_unit: z.string() })),
    burn: z.array(z.object({ unit: z.string(), value_per_point: z.string() })),
    issue_price: z.string(),
    redeem_price: z.string(),
    campaigns: z.array(
      z.object({
        name: z.string(),
        multiplier: z.string(),
        from: z.string(),
        to: z.string(),
        days_of_week: z.array(z.number().int()).optional(),
      }),
    ),
    created_at: z.string(),
    created_by: z.string(),
  })
  .openapi("RateCard");

export const QuoteQuery = z.strictObject({
  unit: UnitCode.openapi({ param: { name: "unit", in: "query" } }),
  value: DecimalString.openapi({ param: { name: "value", in: "query" } }),
});

export const QuoteSchema = z
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
