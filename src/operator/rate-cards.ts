import { createRoute, z } from "@hono/zod-openapi";
import { parseRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { badCursor, decodeCursor, page } from "../http/pagination";
import {
  DecimalString,
  errorResponses,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  NonNegativeDecimalString,
  OPERATOR_AUTH_ERRORS,
  Rfc3339,
  UnitCode,
} from "../http/schemas";
import { getPartner } from "../partners/store";
import { createRateCard, listRateCards, renderRateCard } from "../rates/cards";
import { cmp, fromInt, parseDecimal } from "../rates/decimal";

/** operator-api.md "Rates": versioned rate cards per partner. */

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

const CreateRateCard = z
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
  .openapi("RateCardInput");

const RateCardSchema = z
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

const PartnerParams = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/, "must be 2 to 40 of [a-z0-9-]")
    .openapi({ param: { name: "id", in: "path" } }),
});

async function requirePartner(db: D1Database, id: string): Promise<void> {
  if (!(await getPartner(db, id))) throw new ApiError("partner_not_found", `no partner ${id}`);
}

export const rateCardRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners/{id}/rate-cards",
      tags: ["Operator: rates"],
      summary: "Create a new rate-card version for a partner, effective from effective_from (default now, never in the past)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(CreateRateCard) },
      responses: {
        201: jsonResponse("The new version", z.object({ rate_card: RateCardSchema })),
        ...errorResponses("invalid_body", "unknown_field", "invalid_param", "partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      let effectiveFrom = now;
      if (body.effective_from !== undefined) {
        const at = parseRfc3339(body.effective_from);
        // The schema checked the format; "the past" is anything before this request's second.
        if (at === undefined || at < Math.floor(now / 1000) * 1000) {
          throw new ApiError("invalid_body", "effective_from must not be in the past", "effective_from");
        }
        effectiveFrom = at;
      }
      await requirePartner(db, id);
      const card = await createRateCard(db, {
        partnerId: id,
        effectiveFrom,
        input: {
          earn: body.earn,
          burn: body.burn,
          issue_price: body.issue_price,
          redeem_price: body.redeem_price,
          campaigns: body.campaigns ?? [],
        },
        now,
        actor: c.get("operator").sub,
      });
      return c.json({ rate_card: renderRateCard(card) }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners/{id}/rate-cards",
      tags: ["Operator: rates"],
      summary: "List a partner's rate-card versions, latest effective first (the first one in force now or earlier is in force)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, query: ListQuery },
      responses: {
        200: jsonResponse("Versions", listOf(RateCardSchema)),
        ...errorResponses("invalid_param", "partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const db = c.env.DB;
      const position = decodeCursor(cursor, ["e", "c", "s"]);
      const after = position
        ? { effectiveFrom: Number(position.e), createdAt: Number(position.c), seq: Number(position.s) }
        : undefined;
      if (after && ![after.effectiveFrom, after.createdAt, after.seq].every(Number.isSafeInteger)) {
        throw badCursor();
      }
      await requirePartner(db, id);
      const rows = await listRateCards(db, id, { limit: limit + 1, after });
      const result = page(rows, limit, ({ position: p }) => ({ e: p.effectiveFrom, c: p.createdAt, s: p.seq }));
      return c.json({ data: result.data.map(renderRateCard), next_cursor: result.next_cursor }, 200);
    },
  );
};
