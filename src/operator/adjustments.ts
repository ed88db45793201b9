import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  IdempotencyKeyHeader,
  jsonBody,
  jsonResponse,
  OPERATOR_AUTH_ERRORS,
} from "../http/schemas";
import { tag } from "../http/tags";
import { planAdjustment } from "../ledger/commands/adjustment";
import { TransactionWithBalance } from "../partner-api/transaction-schemas";

const AdjustmentBody = z
  .strictObject({
    points: z
      .number()
      .int()
      .min(-1_000_000_000_000)
      .max(1_000_000_000_000)
      .refine((n) => n !== 0, "must not be zero"),
    reason: z.string().min(1).max(500),
  })
  .openapi("Adjustment", { example: { points: 250, reason: "goodwill: a delayed flight" } });

export const adjustmentRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/members/{member_id}/adjustments",
      tags: tag("operatorAdjustments"),
      summary: "Credit (goodwill) or debit (correction) a member's points, against the operator",
      security: [{ OperatorToken: [] }],
      request: {
        headers: IdempotencyKeyHeader,
        params: z.object({
          member_id: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "member_id", in: "path" }, example: "mbr_301_0123456789abcdef" }),
        }),
        body: jsonBody(AdjustmentBody),
      },
      responses: {
        201: jsonResponse("The adjustment transaction and the member's balance", TransactionWithBalance),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "member_not_found",
          "insufficient_points",
          ...IDEMPOTENCY_ERRORS,
          ...OPERATOR_AUTH_ERRORS,
        ),
      },
    }),
    (c) => {
      const { member_id } = c.req.valid("param");
      const { points, reason } = c.req.valid("json");
      const actor = c.get("operator").sub;
      return runKeyedWrite(c, "operator", (ctx) => planAdjustment({ memberId: member_id, points, reason, actor }, ctx), {
        target: { memberId: member_id },
      });
    },
  );
};
