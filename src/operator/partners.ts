import { createRoute, z } from "@hono/zod-openapi";
import { sqlInt } from "../db/sql";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { decodeCursor, page } from "../http/pagination";
import { runOperatorWrite } from "../http/runner";
import { AmountSchema, errorResponses, jsonBody, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { createPartnerStatements, updatePartnerStatements } from "../partners/commands";
import { getPartner, listKeys, listPartners, type PartnerRow, partnerUnits, renderPartner } from "../partners/store";
import { parseMicros } from "../rates/micros";

export const PartnerId = z.string().regex(/^[a-z0-9-]{2,40}$/, "must be 2 to 40 of [a-z0-9-]");
export const PartnerParams = z.object({ id: PartnerId.openapi({ param: { name: "id", in: "path" } }) });

/** Prepaid only: what a close does with a receivable left after the set-off (economics.md). */
const Receivables = z.enum(["payout", "top_up"]).optional();
const Funding = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), balance: AmountSchema, receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);
const FundingChange = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);

export const PartnerSchema = z.object({}).passthrough().openapi("Partner");

const CreatePartner = z.strictObject({
  id: PartnerId,
  name: z.string().min(1).max(100),
  funding: Funding,
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
});

const PatchPartner = z.strictObject({
  status: z.enum(["active", "suspended"]).optional(),
  name: z.string().min(1).max(100).optional(),
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
  funding: FundingChange.optional(),
});

/**
 * Funding amounts are kept as exact micros in 64-bit SQL integers; one amount may be at most a
 * billion units of the settlement currency (far above any partner's position), so balances and
 * exposures stay exact however many of them add up.
 */
const MAX_FUNDING_MICROS = 10n ** 15n;

export function fundingMicros(value: string, param: string): number {
  const micros = parseMicros(value);
  if (micros > MAX_FUNDING_MICROS) throw new ApiError("invalid_body", "an amount may be at most 1000000000", param);
  return sqlInt(micros);
}

export function requireCurrency(unit: string, currency: string, param: string): void {
  if (unit !== currency) throw new ApiError("unknown_unit", `funding is in the settlement currency ${currency}`, param);
}

export async function mustGetPartner(db: D1Database, id: string): Promise<PartnerRow> {
  const p = await getPartner(db, id);
  if (!p) throw new ApiError("partner_not_found", `no partner ${id}`);
  return p;
}

export const partnerRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners",
      tags: ["Operator: partners"],
      summary: "Create a partner",
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(CreatePartner) },
      responses: {
        201: jsonResponse("The new partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("invalid_body", "unknown_field", "partner_exists", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const currency = c.env.SETTLEMENT_CURRENCY;
      const amount = body.funding.mode === "prepaid" ? body.funding.balance : body.funding.credit_limit;
      requireCurrency(amount.unit, currency, `funding.${body.funding.mode === "prepaid" ? "balance" : "credit_limit"}.unit`);
      const micros = fundingMicros(amount.value, `funding.${body.funding.mode === "prepaid" ? "balance" : "credit_limit"}.value`);
      const partner = {
        id: body.id,
        name: body.name,
        fundingMode: body.funding.mode,
        fundingMicros: micros,
        receivables: (body.funding.mode === "prepaid" && body.funding.receivables) || "payout",
        pendingDays: body.pending_days ?? 0,
        holdTtlSeconds: body.hold_ttl_seconds ?? 900,
      } as const;
      await runOperatorWrite(c, createPartnerStatements(partner, c.get("operator").sub, body, now), {
        partner_exists: { message: `a partner with id ${body.id} exists` },
      });
      const p = await mustGetPartner(db, body.id);
      return c.json({ partner: renderPartner(p, currency, { earn: [], burn: [] }, []) }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners",
      tags: ["Operator: partners"],
      summary: "List partners",
      security: [{ OperatorToken: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Partners", listOf(PartnerSchema)),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = decodeCursor(cursor, ["id"]);
      const rows = await listPartners(c.env.DB, { limit: limit + 1, afterId: after ? String(after.id) : undefined });
      const result = page(rows, limit, (p) => ({ id: p.id }));
      return c.json(
        { data: result.data.map((p) => renderPartner(p, c.env.SETTLEMENT_CURRENCY)), next_cursor: result.next_cursor },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners/{id}",
      tags: ["Operator: partners"],
      summary: "Get a partner with its funding position, exposure and keys",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams },
      responses: {
        200: jsonResponse("The partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const db = c.env.DB;
      const p = await mustGetPartner(db, id);
      const [units, keys] = await Promise.all([partnerUnits(db, id, c.get("now")), listKeys(db, id)]);
      return c.json({ partner: renderPartner(p, c.env.SETTLEMENT_CURRENCY, units, keys) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "patch",
      path: "/partners/{id}",
      tags: ["Operator: partners"],
      summary: "Change a partner's status, name, pending period, hold TTL or funding mode",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(PatchPartner) },
      responses: {
        200: jsonResponse("The partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("invalid_body", "unknown_field", "partner_not_found", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      await mustGetPartner(db, id); // an unknown partner answers before its body's currency
      let creditLimit: number | null = null;
      if (body.funding?.mode === "postpaid") {
        requireCurrency(body.funding.credit_limit.unit, c.env.SETTLEMENT_CURRENCY, "funding.credit_limit.unit");
        creditLimit = fundingMicros(body.funding.credit_limit.value, "funding.credit_limit.value");
      }
      const change = {
        status: body.status,
        name: body.name,
        pendingDays: body.pending_days,
        holdTtlSeconds: body.hold_ttl_seconds,
        fundingMode: body.funding?.mode,
        creditLimitMicros: creditLimit,
        receivables: body.funding?.mode === "prepaid" ? body.funding.receivables : undefined,
      };
      await runOperatorWrite(c, updatePartnerStatements(id, change, c.get("operator").sub, body, now), {
        partner_not_found: { message: `no partner ${id}` },
      });
      const p = await mustGetPartner(db, id);
      const [units, keys] = await Promise.all([partnerUnits(db, id, now), listKeys(db, id)]);
      return c.json({ partner: renderPartner(p, c.env.SETTLEMENT_CURRENCY, units, keys) }, 200);
    },
  );
};
