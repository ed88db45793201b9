import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { auditStatement } from "../audit/log";
import { guardStatement } from "../db/guard";
import { sqlMicrosText, sqlTime } from "../db/sql";
import type { RouteModule } from "../http/app";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { idempotent, type SqlJson } from "../http/idempotency";
import { AmountSchema, errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { fundingCreditSet } from "../ledger/funding";
import { formatMicros } from "../rates/micros";
import { fundingMicros, mustGetPartner, PartnerParams, PartnerSchema, requireCurrency } from "./partners";

/**
 * Money between the operator and a partner (operator-api.md "Partners and keys"): a payment the
 * partner made (a prepaid top-up, or a postpaid payment lowering its exposure) and a payout the
 * operator made (of what closed statements left it owing: payout_due). Each takes an
 * Idempotency-Key, is audited, and answers the partner's funding position as committed.
 */

const Transfer = z.strictObject({ amount: AmountSchema, reference: z.string().min(1).max(200) });
type TransferBody = z.infer<typeof Transfer>;

const IDEMPOTENCY_ERRORS = ["idempotency_key_missing", "idempotency_key_reused", "idempotency_key_in_use"] as const;

/** The answer: the transfer and the partner's funding, rendered by SQL after the batch's writes. */
function transferJson(kind: "payment" | "payout", body: TransferBody, partnerId: string, now: number): SqlJson {
  const money = (column: string) => `json_object('value', ${sqlMicrosText(column)}, 'unit', ?2)`;
  return {
    sql: `SELECT json_object(
            '${kind}', json_object('partner_id', id, 'amount', json_object('value', ?1, 'unit', ?2), 'reference', ?3,
              'created_at', ${sqlTime("?5")}),
            'partner', json_object('id', id, 'funding', json_object('mode', funding_mode,
              'balance', ${money("prepaid_balance_micros")}, 'credit_limit', ${money("credit_limit_micros")},
              'exposure', ${money("exposure_micros")}), 'payout_due', ${money("payout_due_micros")}))
          FROM partners WHERE id = ?4`,
    binds: [body.amount.value, body.amount.unit, body.reference, partnerId, now],
  };
}

/** The amount in micros, in the settlement currency. */
function transferMicros(c: Context<AppEnv>, body: TransferBody): number {
  requireCurrency(body.amount.unit, c.env.SETTLEMENT_CURRENCY, "amount.unit");
  return fundingMicros(body.amount.value, "amount.value");
}

const transferRoute = (kind: "payments" | "payouts", summary: string, extraErrors: "payout_exceeds_due"[]) =>
  createRoute({
    method: "post",
    path: `/partners/{id}/${kind}`,
    tags: ["Operator: partners"],
    summary,
    security: [{ OperatorToken: [] }],
    request: { params: PartnerParams, body: jsonBody(Transfer) },
    responses: {
      201: jsonResponse(
        "The transfer and the partner's funding position",
        z.object({ [kind.slice(0, -1)]: z.object({}).passthrough(), partner: PartnerSchema }),
      ),
      ...errorResponses(
        "invalid_body",
        "unknown_field",
        "partner_not_found",
        "unknown_unit",
        ...extraErrors,
        ...IDEMPOTENCY_ERRORS,
        ...OPERATOR_AUTH_ERRORS,
      ),
    },
  });

export const partnerFundingRoutes: RouteModule = (r) => {
  r.openapi(
    transferRoute("payments", "Record a prepaid top-up or a postpaid payment (takes an Idempotency-Key)", []),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const now = c.get("now");
      return idempotent(c, "operator", async () => {
        await mustGetPartner(c.env.DB, id);
        const micros = transferMicros(c, body);
        const db = c.env.DB;
        return {
          status: 201,
          statements: [
            // A top-up raises the balance; a postpaid payment lowers the exposure, never below zero
            // (beyond it, the partner overpaid: that is owed back as payout_due).
            db.prepare(`UPDATE partners SET ${fundingCreditSet("?2")}, updated_at = ?3 WHERE id = ?1`).bind(id, micros, now),
            auditStatement(db, {
              at: now,
              actor: c.get("operator").sub,
              action: "partner.payment",
              target: id,
              detail: { amount: body.amount, reference: body.reference },
            }),
          ],
          body: transferJson("payment", body, id, now),
        };
      });
    },
  );

  r.openapi(
    transferRoute("payouts", "Record a payout of what closed statements owe the partner (payout_due; takes an Idempotency-Key)", [
      "payout_exceeds_due",
    ]),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const now = c.get("now");
      return idempotent(c, "operator", async () => {
        const partner = await mustGetPartner(c.env.DB, id);
        const micros = transferMicros(c, body);
        if (micros > partner.payout_due_micros) throw exceedsDue(partner.payout_due_micros, c.env.SETTLEMENT_CURRENCY);
        const db = c.env.DB;
        return {
          status: 201,
          statements: [
            // Decided on the read above; a concurrent payout may have lowered the due since.
            guardStatement(
              db,
              "payout_exceeds_due",
              "NOT EXISTS (SELECT 1 FROM partners WHERE id = ? AND payout_due_micros >= ?)",
              id,
              micros,
            ),
            db
              .prepare("UPDATE partners SET payout_due_micros = payout_due_micros - ?2, updated_at = ?3 WHERE id = ?1")
              .bind(id, micros, now),
            auditStatement(db, {
              at: now,
              actor: c.get("operator").sub,
              action: "partner.payout",
              target: id,
              detail: { amount: body.amount, reference: body.reference },
            }),
          ],
          body: transferJson("payout", body, id, now),
        };
      });
    },
  );
};

function exceedsDue(dueMicros: number, currency: string): ApiError {
  return new ApiError(
    "payout_exceeds_due",
    `the payout exceeds what is due to the partner (${formatMicros(dueMicros)} ${currency})`,
    "amount.value",
  );
}
