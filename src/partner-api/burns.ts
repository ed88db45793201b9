import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { RouteModule } from "../http/app";
import type { AppEnv } from "../http/context";
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
} from "../http/schemas";
import { burnStatements, captureStatements, voidStatements } from "../ledger/burn";
import { transactionWithBalanceJson } from "../ledger/render";
import { newTransactionId, type TransactionRow, transactionStatement } from "../ledger/transactions";
import { MemberRefSchema, RequestContextSchema } from "../members/routes";
import { rateCardFrom, rateCardInForceStatement } from "../rates/cards";
import { pointsForDiscount } from "../rates/conversion";
import { formatDecimal, parseDecimal } from "../rates/decimal";
import { ledgerRiskCheck } from "../risk/check";
import { MAX_POINTS } from "./earn";
import { ledgerContextFrom, ledgerContextPrefetch, pointValue, requireCard } from "./ledger-context";
import { TransactionIdParams, TransactionWithBalance } from "./transaction-schemas";

export const BurnBody = z
  .strictObject({
    member_ref: MemberRefSchema,
    points: Points.optional(),
    amount: AmountSchema.optional(),
    capture: z.boolean().optional().default(true),
    order_ref: z.string().min(1).max(128).optional(),
    context: RequestContextSchema,
  })
  .refine((b) => (b.amount === undefined) !== (b.points === undefined), {
    message: "give either points or amount, not both",
    path: ["points"],
  })
  .openapi("BurnRequest");

const CaptureBody = z.strictObject({ points: Points.optional() }).openapi("CaptureRequest");
const VoidBody = z.strictObject({}).openapi("VoidRequest");

export const burnRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/burns",
      tags: ["Earn and burn"],
      summary: "Redeem points (posted at once, or held for a later capture)",
      security: [{ CoalitionSignature: [] }],
      request: { body: jsonBody(BurnBody) },
      responses: {
        201: jsonResponse("The burn transaction and the member's balance", TransactionWithBalance),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "member_not_found",
          "unknown_unit",
          "no_rate_card",
          "amount_too_large",
          "insufficient_points",
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
          let points: bigint;
          let rate: string | null = null;
          if (body.amount) {
            const burnRate = card.burn.find((b) => b.unit === body.amount?.unit);
            if (!burnRate)
              throw new ApiError("unknown_unit", `this partner does not redeem points for ${body.amount.unit}`, "amount.unit");
            // The points needed for a money discount round up (never give more than was paid for).
            points = pointsForDiscount({ amount: parseDecimal(body.amount.value), valuePerPoint: burnRate.valuePerPoint });
            rate = formatDecimal(burnRate.valuePerPoint);
          } else {
            points = BigInt(body.points ?? 0);
          }
          if (points > BigInt(MAX_POINTS))
            throw new ApiError("amount_too_large", "one transaction burns at most 10^12 points", "amount");
          const txnId = newTransactionId();
          const risk = ledgerRiskCheck(c, ctx.riskRules, {
            kind: "burn",
            txnId,
            memberId: ctx.memberId,
            memberCreatedAt: ctx.memberCreatedAt,
            memberRef: body.member_ref,
            points: Number(points),
            context: body.context,
          });
          const statements = burnStatements(db, {
            txn: {
              id: txnId,
              type: "burn",
              status: body.capture ? "posted" : "held",
              partnerId,
              memberId: ctx.memberId,
              points: Number(points),
              direction: -1,
              orderRef: body.order_ref,
              amountValue: body.amount?.value,
              amountUnit: body.amount?.unit,
              rate,
              rateCardId: card.id,
              issuePriceMicros: Number(card.issuePriceMicros),
              redeemPriceMicros: Number(card.redeemPriceMicros),
              occurredAt: now,
              bookedAt: now,
              expiresAt: body.capture ? null : now + ctx.partner.holdTtlSeconds * 1000,
              contextIp: body.context.ip,
              contextDevice: body.context.device_id,
            },
            redeemerId: partnerId,
            redeemPriceMicros: Number(card.redeemPriceMicros),
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

  const holdRoute = (action: "capture" | "void") =>
    createRoute({
      method: "post",
      path: `/burns/{id}/${action}`,
      tags: ["Earn and burn"],
      summary: action === "capture" ? "Capture a hold (all of it, or part; the rest is released)" : "Void a hold",
      security: [{ CoalitionSignature: [] }],
      request: {
        params: TransactionIdParams,
        body: { ...jsonBody(action === "capture" ? CaptureBody : VoidBody), required: false },
      },
      responses: {
        200: jsonResponse("The hold's transaction and the member's balance", TransactionWithBalance),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "transaction_not_found",
          "hold_not_open",
          ...IDEMPOTENCY_ERRORS,
          ...PARTNER_AUTH_ERRORS,
        ),
      },
    });

  r.openapi(holdRoute("capture"), async (c) => {
    const { id } = c.req.valid("param");
    // Capture and void may be sent without a body (then nothing is validated and nothing is given).
    const body: { points?: number } = c.req.valid("json") ?? {};
    return holdAction(c, id, (hold, now) => {
      const points = body.points ?? hold.points;
      if (points > hold.points)
        throw new ApiError("invalid_body", `at most the held ${hold.points} points can be captured`, "points");
      return captureStatements(
        c.env.DB,
        {
          id: hold.id,
          memberId: hold.member_id,
          partnerId: hold.partner_id,
          points: hold.points,
          redeemPriceMicros: hold.redeem_price_micros ?? 0,
        },
        points,
        now,
      );
    });
  });

  r.openapi(holdRoute("void"), async (c) => {
    const { id } = c.req.valid("param");
    return holdAction(c, id, (hold, now) => voidStatements(c.env.DB, { id: hold.id, memberId: hold.member_id }, now));
  });
};

async function holdAction(
  c: Context<AppEnv>,
  holdId: string,
  build: (hold: TransactionRow, now: number) => D1PreparedStatement[],
): ReturnType<typeof idempotent> {
  const db = c.env.DB;
  const now = c.get("now");
  const partnerId = c.get("partner").id;
  // The hold and the card are read in the idempotency claim's batch (no round trip of their own).
  return idempotent(
    c,
    partnerId,
    async ([holdResult, cardResult]) => {
      const hold = holdResult?.results[0] as TransactionRow | undefined;
      if (!hold || hold.partner_id !== partnerId || hold.type !== "burn") {
        throw new ApiError("transaction_not_found", "no burn with this id was made by this partner", "id");
      }
      if (hold.status !== "held" || (hold.expires_at ?? 0) <= now)
        throw new ApiError("hold_not_open", "this hold is no longer open");
      return {
        status: 200,
        statements: build(hold, now),
        body: transactionWithBalanceJson(hold.id, hold.member_id, now, pointValue(rateCardFrom(cardResult))),
      };
    },
    [transactionStatement(db, holdId), rateCardInForceStatement(db, partnerId, now)],
  );
}
