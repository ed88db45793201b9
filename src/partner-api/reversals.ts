import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  IdempotencyKeyHeader,
  jsonBody,
  jsonResponse,
  PARTNER_AUTH_ERRORS,
  Points,
} from "../http/schemas";
import { tag } from "../http/tags";
import { planReversal } from "../ledger/commands/reversal";
import { TransactionIdParams, TransactionWithBalance } from "./transaction-schemas";

const ReversalBody = z
  .strictObject({ points: Points.optional(), reason: z.string().min(1).max(500).optional() })
  .openapi("ReversalRequest", { example: { points: 100, reason: "item returned, order A-1001" } });

export const reversalRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/transactions/{id}/reversals",
      tags: tag("partnerEarnBurn"),
      summary: "Reverse a posted or pending earn, or a posted burn, in full or in part",
      security: [{ CoalitionSignature: [] }],
      request: {
        params: TransactionIdParams,
        body: { ...jsonBody(ReversalBody), required: false },
        headers: IdempotencyKeyHeader,
      },
      responses: {
        201: jsonResponse("The reversal transaction and the member's balance", TransactionWithBalance),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "transaction_not_found",
          "nothing_to_reverse",
          ...IDEMPOTENCY_ERRORS,
          ...PARTNER_AUTH_ERRORS,
        ),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      const body: { points?: number; reason?: string } = c.req.valid("json") ?? {};
      const partnerId = c.get("partner").id;
      return runKeyedWrite(
        c,
        partnerId,
        (ctx) => planReversal({ partnerId, originalId: id, points: body.points ?? null, reason: body.reason ?? null }, ctx),
        { target: { transactionId: id } },
      );
    },
  );
};
