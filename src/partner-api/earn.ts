import { createRoute, z } from "@hono/zod-openapi";
import { parseRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import {
  AmountSchema,
  errorResponses,
  IDEMPOTENCY_ERRORS,
  IdempotencyKeyHeader,
  jsonBody,
  jsonResponse,
  PARTNER_AUTH_ERRORS,
  Points,
  Rfc3339,
} from "../http/schemas";
import { tag } from "../http/tags";
import { planEarn } from "../ledger/commands/earn";
import { MemberRefSchema, RequestContextSchema } from "../members/schemas";
import { TransactionWithBalance } from "./transaction-schemas";

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
  // The refine, in JSON Schema: exactly one of amount and points (neither both nor none).
  .openapi("EarnRequest", {
    not: {
      anyOf: [{ required: ["amount", "points"] }, { not: { anyOf: [{ required: ["amount"] }, { required: ["points"] }] } }],
    },
    example: {
      member_ref: "c-1001",
      amount: { value: "58.00", unit: "CNY" },
      order_ref: "A-1001",
      context: { ip: "203.0.113.7", device_id: "demo-phone-1" },
    },
  });

export const earnRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/earn",
      tags: tag("partnerEarnBurn"),
      summary: "Award points for a purchase (by amount at the earn rate, or by points)",
      security: [{ CoalitionSignature: [] }],
      request: { body: jsonBody(EarnBody), headers: IdempotencyKeyHeader },
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
    (c) => {
      const body = c.req.valid("json");
      const partnerId = c.get("partner").id;
      const occurredAt = body.occurred_at === undefined ? undefined : (parseRfc3339(body.occurred_at) ?? undefined);
      return runKeyedWrite(
        c,
        partnerId,
        (ctx) =>
          planEarn(
            {
              partnerId,
              memberRef: body.member_ref,
              amount: body.amount,
              points: body.points,
              orderRef: body.order_ref,
              occurredAt,
              context: body.context,
              requestId: c.get("requestId"),
            },
            ctx,
          ),
        { target: { partnerId, memberRef: body.member_ref } },
      );
    },
  );
};
