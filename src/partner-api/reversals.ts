import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { idempotent } from "../http/idempotency";
import { errorResponses, IDEMPOTENCY_ERRORS, jsonBody, jsonResponse, PARTNER_AUTH_ERRORS, Points } from "../http/schemas";
import { transactionWithBalanceJson } from "../ledger/render";
import { burnReversalStatements, earnReversalStatements } from "../ledger/reversal";
import { newTransactionId, type TransactionRow, transactionStatement } from "../ledger/transactions";
import { rateCardFrom, rateCardInForceStatement } from "../rates/cards";
import { pointValue } from "./ledger-context";
import { TransactionIdParams, TransactionWithBalance } from "./transaction-schemas";

const ReversalBody = z
  .strictObject({ points: Points.optional(), reason: z.string().min(1).max(500).optional() })
  .openapi("ReversalRequest");

export const reversalRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/transactions/{id}/reversals",
      tags: ["Earn and burn"],
      summary: "Reverse a posted or pending earn, or a posted burn, in full or in part",
      security: [{ CoalitionSignature: [] }],
      request: { params: TransactionIdParams, body: { ...jsonBody(ReversalBody), required: false } },
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
    async (c) => {
      const { id } = c.req.valid("param");
      const body: { points?: number; reason?: string } = c.req.valid("json") ?? {};
      const db = c.env.DB;
      const now = c.get("now");
      const partnerId = c.get("partner").id;
      // The original, what was already reversed of it and the card are read in the claim's batch.
      return idempotent(
        c,
        partnerId,
        async ([originalResult, alreadyResult, cardResult]) => {
          const original = originalResult?.results[0] as TransactionRow | undefined;
          if (!original || original.partner_id !== partnerId || (original.type !== "earn" && original.type !== "burn")) {
            throw new ApiError("transaction_not_found", "no earn or burn with this id was made by this partner", "id");
          }
          const reversible =
            original.type === "earn"
              ? original.status === "posted" || original.status === "pending"
                ? original.points
                : 0
              : original.status === "posted"
                ? (original.captured_points ?? original.points)
                : 0;
          const already = alreadyResult?.results[0] as { n: number } | undefined;
          const left = reversible - (already?.n ?? 0);
          const points = body.points ?? left;
          if (left <= 0 || points > left) {
            throw new ApiError("nothing_to_reverse", `${Math.max(left, 0)} points of this transaction are left to reverse`);
          }
          const reversal = {
            id: newTransactionId(),
            type: "reversal" as const,
            status: "posted" as const,
            partnerId,
            memberId: original.member_id,
            points,
            direction: (original.type === "earn" ? -1 : 1) as 1 | -1,
            originalId: original.id,
            reason: body.reason,
            rateCardId: original.rate_card_id,
            issuePriceMicros: original.issue_price_micros,
            redeemPriceMicros: original.redeem_price_micros,
            occurredAt: now,
            bookedAt: now,
          };
          const statements =
            original.type === "earn"
              ? earnReversalStatements(db, reversal, {
                  id: original.id,
                  partnerId,
                  points: original.points,
                  issuePriceMicros: original.issue_price_micros ?? 0,
                })
              : burnReversalStatements(db, reversal, { id: original.id, partnerId, consumedPoints: reversible });
          return {
            status: 201,
            statements,
            body: transactionWithBalanceJson(reversal.id, original.member_id, now, pointValue(rateCardFrom(cardResult))),
          };
        },
        [
          transactionStatement(db, id),
          db
            .prepare("SELECT COALESCE(SUM(points), 0) AS n FROM transactions WHERE original_id = ?1 AND type = 'reversal'")
            .bind(id),
          rateCardInForceStatement(db, partnerId, now),
        ],
      );
    },
  );
};
