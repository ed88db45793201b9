import { createRoute, z } from "@hono/zod-openapi";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  OPERATOR_AUTH_ERRORS,
} from "../http/schemas";
import { coalitionSettings } from "../ledger/expiry-policy";
import { listReviews, planReviewDecision } from "../risk/reviews";

/** The review queue (operator-api.md "Risk rules"): `GET /admin/v1/reviews`, `POST /admin/v1/reviews/{transaction_id}`. */

const ReviewSchema = z
  .object({
    transaction: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The transaction, as its partner sees it (status review)" }),
    rule_id: z.string().nullable().openapi({ description: "The review rule that sent it (the first that tripped)" }),
    context: z.object({ ip: z.string().nullable(), device_id: z.string().optional() }),
    decide_by: z.string().openapi({ description: "After this the scheduled job rejects it and it can no longer be approved" }),
  })
  .openapi("Review");

const DecisionBody = z.strictObject({ decision: z.enum(["approve", "reject"]) }).openapi("ReviewDecision");

const TransactionIdParams = z.object({
  transaction_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "transaction_id", in: "path" }, example: "txn_0123456789abcdefghjkmnpqrstv" }),
});

const FilterString = (name: string, max = 128) =>
  z
    .string()
    .min(1)
    .max(max)
    .optional()
    .openapi({ param: { name, in: "query" } });

export const reviewRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/reviews",
      tags: ["Operator: risk"],
      summary: "Transactions in review, oldest first (a queue); each is rejected automatically at decide_by",
      security: [{ OperatorToken: [] }],
      request: {
        query: ListQuery.extend({
          partner_id: FilterString("partner_id", 40),
          type: z
            .enum(["earn", "burn"])
            .optional()
            .openapi({ param: { name: "type", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("Reviews", listOf(ReviewSchema)),
        ...errorResponses("invalid_param", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, partner_id, type } = c.req.valid("query");
      const db = c.env.DB;
      const now = c.get("now");
      const position = decodeCursor(cursor, ["b", "i"]);
      const after = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (after && !Number.isSafeInteger(after.bookedAt)) throw badCursor();
      const [settings, rows] = await Promise.all([
        coalitionSettings(db),
        listReviews(db, { now, limit: limit + 1, after, partnerId: partner_id, type }),
      ]);
      const result = page(rows, limit, (row) => ({ b: row.booked_at, i: row.id }));
      return c.json(
        {
          data: result.data.map((row) => ({
            transaction: JSON.parse(row.txn) as Record<string, unknown>,
            rule_id: row.risk_rule_id,
            context: { ip: row.context_ip, ...(row.context_device === null ? {} : { device_id: row.context_device }) },
            decide_by: toRfc3339(row.booked_at + settings.reviewTimeoutSeconds * 1000),
          })),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/reviews/{transaction_id}",
      tags: ["Operator: risk"],
      summary: "Approve or reject a transaction in review (with an Idempotency-Key)",
      description:
        "approve: an earn is booked as the earn would have been (funding drawn, points posted, or pending until its available_at); a burn's reserved points are captured (a hold becomes an open hold for the partner's hold TTL). reject: an earn is dropped, a burn's reserved points go back. A review past its decide_by can only be rejected.",
      security: [{ OperatorToken: [] }],
      request: { params: TransactionIdParams, body: jsonBody(DecisionBody) },
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
      const db = c.env.DB;
      const sub = c.get("operator").sub;
      // A review decision reads the transaction first (two round trips; not on a partner's path).
      // A review decision reads the transaction first (two round trips; not on a partner's path).
      return runKeyedWrite(c, "operator", (ctx) =>
        planReviewDecision(db, { transactionId: transaction_id, decision, actor: sub }, ctx),
      );
    },
  );
};
