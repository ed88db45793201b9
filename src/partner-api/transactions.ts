import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { rawJson } from "../http/raw-json";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { transactionObject } from "../ledger/render";
import { TransactionIdParams, TransactionSchema } from "./transaction-schemas";

/** `GET /v1/transactions/{id}` (partner-api.md §5): one of the caller's transactions, in the request's one batch. */
export const transactionRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/transactions/{id}",
      tags: tag("partnerEarnBurn"),
      summary: "One transaction of the calling partner",
      security: [{ CoalitionSignature: [] }],
      request: { params: TransactionIdParams },
      responses: {
        200: jsonResponse("The transaction", z.object({ transaction: TransactionSchema })),
        ...errorResponses("transaction_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      const partnerId = c.get("partner").id;
      return runRead(
        c,
        ({ now }) => ({
          statements: [
            sql`SELECT json_object('transaction', json(${transactionObject("t", now)})) AS body
                FROM transactions t WHERE t.id = ${id} AND t.partner_id = ${partnerId}`,
          ],
          answer: ([result]) => {
            const row = result?.results[0] as { body: string } | undefined;
            if (!row) throw new ApiError("transaction_not_found", "no transaction with this id was made by this partner", "id");
            return rawJson(row.body);
          },
        }),
        { target: { transactionId: id } },
      );
    },
  );
};
