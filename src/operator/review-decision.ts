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
import { planReviewDecision } from "../risk/reviews";
import { DecisionBody, TransactionIdParams } from "../risk/schemas";

export const reviewDecisionRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/reviews/{transaction_id}",
      tags: tag("operatorRisk"),
      summary: "Approve or reject a transaction in review (with an Idempotency-Key)",
      description:
        "approve: an earn is booked as the earn would have been (funding drawn, points posted, or pending until its available_at); a burn's reserved points are captured (a hold becomes an open hold for the partner's hold TTL). reject: an earn is dropped, a burn's reserved points go back. A review past its decide_by can only be rejected.",
      security: [{ OperatorToken: [] }],
      request: { params: TransactionIdParams, body: jsonBody(DecisionBody), headers: IdempotencyKeyHeader },
      responses: {
        200: jsonResponse("The decided transaction", z.object({ transaction: z.record(z.string(), z.unknown()) })),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "review_not_found",
          "review_not_open",
          "partner_funds_exhausted",
          "partner_credit_limit",
          ...IDEMPOTENCY_ERRORS,
          ...OPERATOR_AUTH_ERRORS,
        ),
      },
    }),
    (c) => {
      const { transaction_id } = c.req.valid("param");
      const { decision } = c.req.valid("json");
      const actor = c.get("operator").sub;
      // A review decision reads the transaction first, on its shard (two round trips; not on a partner's path).
      return runKeyedWrite(
        c,
        "operator",
        (ctx) => planReviewDecision(ctx.db, { transactionId: transaction_id, decision, actor }, ctx),
        { target: { transactionId: transaction_id } },
      );
    },
  );
};
