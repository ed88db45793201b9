import { createRoute, z } from "@hono/zod-openapi";
import { auditStatement } from "../audit/log";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { idempotent } from "../http/idempotency";
import { errorResponses, IDEMPOTENCY_ERRORS, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { burnStatements } from "../ledger/burn";
import { earnStatements } from "../ledger/earn";
import { coalitionSettings, lotExpiry } from "../ledger/expiry-policy";
import { transactionWithBalanceJson } from "../ledger/render";
import { newTransactionId } from "../ledger/transactions";
import { TransactionWithBalance } from "../partner-api/transaction-schemas";

/** The operator pseudo-issuer (economics.md): adjustments are booked against it at a zero price. */
export const OPERATOR_ISSUER = "operator";

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
  .openapi("Adjustment");

export const adjustmentRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/members/{member_id}/adjustments",
      tags: ["Operator: members"],
      summary: "Credit (goodwill) or debit (correction) a member's points, against the operator",
      security: [{ OperatorToken: [] }],
      request: {
        params: z.object({
          member_id: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "member_id", in: "path" } }),
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
    async (c) => {
      const { member_id } = c.req.valid("param");
      const { points, reason } = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const sub = c.get("operator").sub;
      return idempotent(c, "operator", async () => {
        const member = await db.prepare("SELECT id FROM members WHERE id = ?").bind(member_id).first();
        if (!member) throw new ApiError("member_not_found", `no member ${member_id}`, "member_id");
        const settings = await coalitionSettings(db);
        const txn = {
          id: newTransactionId(),
          type: "adjustment" as const,
          partnerId: OPERATOR_ISSUER,
          memberId: member_id,
          points: Math.abs(points),
          reason,
          issuePriceMicros: 0,
          redeemPriceMicros: 0,
          occurredAt: now,
          bookedAt: now,
        };
        // A credit creates an operator lot (and repays debt first); a debit consumes lots like a
        // burn and cannot exceed available.
        const statements =
          points > 0
            ? earnStatements(db, {
                txn: { ...txn, status: "posted", direction: 1 },
                issuerId: OPERATOR_ISSUER,
                issuePriceMicros: 0,
                lotExpiresAt: lotExpiry(now, settings.expiryMonths),
                drawFunding: false,
              })
            : burnStatements(db, {
                txn: { ...txn, status: "posted", direction: -1 },
                redeemerId: OPERATOR_ISSUER,
                redeemPriceMicros: 0,
              });
        statements.push(
          auditStatement(db, {
            at: now,
            actor: sub,
            action: "member.adjust",
            target: member_id,
            detail: { points, reason, transaction_id: txn.id },
          }),
        );
        return { status: 201, statements, body: transactionWithBalanceJson(txn.id, member_id, now, undefined) };
      });
    },
  );
};
