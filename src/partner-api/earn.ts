import { createRoute, z } from "@hono/zod-openapi";
import { parseRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { idempotent } from "../http/idempotency";
import {
  AmountSchema,
  errorResponses,
  IDEMPOTENCY_ERRORS,
  jsonBody,
  jsonResponse,
  PARTNER_AUTH_ERRORS,
  Points,
  Rfc3339,
} from "../http/schemas";
import { earnStatements } from "../ledger/earn";
import { lotExpiry } from "../ledger/expiry-policy";
import { transactionWithBalanceJson } from "../ledger/render";
import { newTransactionId } from "../ledger/transactions";
import { MemberRefSchema, RequestContextSchema } from "../members/routes";
import { activeCampaignMultipliers, earnPoints } from "../rates/conversion";
import { formatDecimal, fromInt, mul, parseDecimal } from "../rates/decimal";
import { ledgerRiskCheck } from "../risk/check";
import { ledgerContextFrom, ledgerContextPrefetch, pointValue, requireCard } from "./ledger-context";
import { TransactionWithBalance } from "./transaction-schemas";

export const MAX_POINTS = 1_000_000_000_000;
/** occurred_at may be this far ahead of the server clock (partner clock skew). */
const FUTURE_TOLERANCE_MS = 300_000;
/** One transaction's funding draw in micros must stay exact in a D1 bind and SQLite integer. */
const MAX_DRAW_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

export const EarnBody = z
  .strictObject({
    member_ref: MemberRefSchema,
    amount: AmountSchema.optional(),
    points: Points.optional(),
    order_ref: z.string().min(1).max(128).optional(),
    occurred_at: Rfc3339.optional(),
    context: RequestContextSchema,
  })
  .refine((b) => (b.amount === undefined) !== (b.points === undefined), {
    message: "give either amount or points, not both",
    path: ["amount"],
  })
  .openapi("EarnRequest");

export const earnRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/earn",
      tags: ["Earn and burn"],
      summary: "Award points for a purchase (by amount at the earn rate, or by points)",
      security: [{ CoalitionSignature: [] }],
      request: { body: jsonBody(EarnBody) },
      responses: {
        201: jsonResponse("The earn transaction and the member's balance", TransactionWithBalance),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "member_not_found",
          "unknown_unit",
          "no_rate_card",
          "amount_too_small",
          "amount_too_large",
          "partner_funds_exhausted",
          "partner_credit_limit",
          "occurred_at_out_of_window",
          "risk_declined",
          ...IDEMPOTENCY_ERRORS,
          ...PARTNER_AUTH_ERRORS,
        ),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const partnerId = c.get("partner").id;
      return idempotent(
        c,
        partnerId,
        async (prefetched) => {
          const ctx = ledgerContextFrom(c, prefetched);
          const card = requireCard(ctx.card);
          const occurredAt = body.occurred_at === undefined ? now : (parseRfc3339(body.occurred_at) ?? now);
          const windowMs = ctx.settings.reportingWindowDays * 24 * 3600 * 1000;
          if (occurredAt < now - windowMs || occurredAt > now + FUTURE_TOLERANCE_MS) {
            throw new ApiError(
              "occurred_at_out_of_window",
              `occurred_at must be within the last ${ctx.settings.reportingWindowDays} days`,
              "occurred_at",
            );
          }

          let points: bigint;
          let rate: string | null = null;
          let multiplier: string | null = null;
          if (body.amount) {
            const earnRate = card.earn.find((e) => e.unit === body.amount?.unit);
            if (!earnRate)
              throw new ApiError("unknown_unit", `this partner does not award points for ${body.amount.unit}`, "amount.unit");
            const campaigns = activeCampaignMultipliers(card.campaigns, new Date(occurredAt));
            const multipliers = campaigns.map((m) => m.multiplier);
            points = earnPoints({ amount: parseDecimal(body.amount.value), pointsPerUnit: earnRate.pointsPerUnit, multipliers });
            rate = formatDecimal(earnRate.pointsPerUnit);
            multiplier = formatDecimal(multipliers.reduce(mul, fromInt(1)));
            if (points < 1n) throw new ApiError("amount_too_small", "this amount earns less than one point", "amount.value");
          } else {
            points = BigInt(body.points ?? 0);
          }
          if (points > BigInt(MAX_POINTS))
            throw new ApiError("amount_too_large", "one transaction earns at most 10^12 points", "amount");
          if (points * card.issuePriceMicros > MAX_DRAW_MICROS) {
            throw new ApiError(
              ctx.partner.fundingMode === "prepaid" ? "partner_funds_exhausted" : "partner_credit_limit",
              "this issuance is larger than any funding position",
            );
          }

          const pending = ctx.partner.pendingDays > 0;
          const txnId = newTransactionId();
          const risk = ledgerRiskCheck(c, ctx.riskRules, {
            kind: "earn",
            txnId,
            memberId: ctx.memberId,
            memberCreatedAt: ctx.memberCreatedAt,
            memberRef: body.member_ref,
            points: Number(points),
            context: body.context,
          });
          const statements = earnStatements(db, {
            txn: {
              id: txnId,
              type: "earn",
              status: pending ? "pending" : "posted",
              partnerId,
              memberId: ctx.memberId,
              points: Number(points),
              direction: 1,
              orderRef: body.order_ref,
              amountValue: body.amount?.value,
              amountUnit: body.amount?.unit,
              rate,
              multiplier,
              rateCardId: card.id,
              issuePriceMicros: Number(card.issuePriceMicros),
              redeemPriceMicros: Number(card.redeemPriceMicros),
              occurredAt,
              bookedAt: now,
              availableAt: pending ? now + ctx.partner.pendingDays * 86_400_000 : null,
              contextIp: body.context.ip,
              contextDevice: body.context.device_id,
            },
            issuerId: partnerId,
            issuePriceMicros: Number(card.issuePriceMicros),
            lotExpiresAt: lotExpiry(now, ctx.settings.expiryMonths),
            drawFunding: true,
            statusSql: risk.statusSql,
          });
          return {
            status: 201,
            statements: risk.wrap(statements),
            body: transactionWithBalanceJson(txnId, ctx.memberId, now, pointValue(card)),
            onCommitError: risk.onCommitError,
          };
        },
        ledgerContextPrefetch(c, body.member_ref),
      );
    },
  );
};
