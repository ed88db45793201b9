import { createRoute, z } from "@hono/zod-openapi";
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
} from "../http/schemas";
import { tag } from "../http/tags";
import { planBurn } from "../ledger/commands/burn";
import { MemberRefSchema, RequestContextSchema } from "../members/schemas";
import { TransactionWithBalance } from "./transaction-schemas";

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
  // The refine, in JSON Schema: exactly one of points and amount (neither both nor none).
  .openapi("BurnRequest", {
    not: {
      anyOf: [{ required: ["points", "amount"] }, { not: { anyOf: [{ required: ["points"] }, { required: ["amount"] }] } }],
    },
    example: {
      member_ref: "c-1001",
      points: 500,
      capture: false,
      order_ref: "A-1002",
      context: { ip: "203.0.113.7", device_id: "demo-phone-1" },
    },
  });

export const burnRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/burns",
      tags: tag("partnerEarnBurn"),
      summary: "Redeem points (posted at once, or held for a later capture)",
      security: [{ CoalitionSignature: [] }],
      request: { body: jsonBody(BurnBody), headers: IdempotencyKeyHeader },
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
    (c) => {
      const body = c.req.valid("json");
      const partnerId = c.get("partner").id;
      return runKeyedWrite(
        c,
        partnerId,
        (ctx) =>
          planBurn(
            {
              partnerId,
              memberRef: body.member_ref,
              points: body.points,
              amount: body.amount,
              capture: body.capture,
              orderRef: body.order_ref,
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
