import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { auditStatement } from "../audit/log";
import { firstGuard, type GuardCode, guard } from "../db/guard";
import { microsText, timeText } from "../db/sql";
import { raw, type Sql, sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { Refusal, runKeyedWrite, type WritePlan } from "../http/runner";
import { AmountSchema, errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { fundingCreditSet } from "../ledger/funding";
import { fundingMicros, requireCurrency } from "../partners/money";
import { PartnerParams, PartnerSchema } from "../partners/schemas";

/**
 * Money between the operator and a partner (operator-api.md "Partners and keys"): a payment the
 * partner made (a prepaid top-up, or a postpaid payment lowering its exposure) and a payout the
 * operator made (of what closed statements left it owing: payout_due). Each takes an
 * Idempotency-Key, is audited, and answers the partner's funding position as committed; each is
 * one batch.
 */

const Transfer = z.strictObject({ amount: AmountSchema, reference: z.string().min(1).max(200) });
type TransferBody = z.infer<typeof Transfer>;

const IDEMPOTENCY_ERRORS = ["idempotency_key_missing", "idempotency_key_reused", "idempotency_key_in_use"] as const;

/** The answer: the transfer and the partner's funding, rendered by SQL after the batch's writes. */
function transferJson(kind: "payment" | "payout", body: TransferBody, partnerId: string, now: number): Sql {
  const money = (column: string) => sql`json_object('value', ${microsText(raw(column))}, 'unit', ${body.amount.unit})`;
  return sql`(SELECT json_object(
      ${kind}, json_object('partner_id', id, 'amount', json_object('value', ${body.amount.value}, 'unit', ${body.amount.unit}),
        'reference', ${body.reference}, 'created_at', ${timeText(sql`${now}`)}),
      'partner', json_object('id', id, 'funding', json_object('mode', funding_mode,
        'balance', ${money("prepaid_balance_micros")}, 'credit_limit', ${money("credit_limit_micros")},
        'exposure', ${money("exposure_micros")}), 'payout_due', ${money("payout_due_micros")}))
    FROM partners WHERE id = ${partnerId})`;
}

function partnerMissing(id: string): Sql {
  return sql`NOT EXISTS (SELECT 1 FROM partners WHERE id = ${id})`;
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

function transferPlan(c: Context<AppEnv>, kind: "payment" | "payout", id: string, body: TransferBody, now: number): WritePlan {
  try {
    requireCurrency(body.amount.unit, c.env.SETTLEMENT_CURRENCY, "amount.unit");
  } catch (error) {
    // An unknown partner answers first.
    throw error instanceof ApiError ? new Refusal(error, [guard("partner_not_found", partnerMissing(id))]) : error;
  }
  const micros = fundingMicros(body.amount.value, "amount.value");
  const change =
    kind === "payment"
      ? // A top-up raises the balance; a postpaid payment lowers the exposure, never below zero
        // (beyond it, the partner overpaid: that is owed back as payout_due).
        sql`UPDATE partners SET ${fundingCreditSet(sql`${micros}`)}, updated_at = ${now} WHERE id = ${id}`
      : sql`UPDATE partners SET payout_due_micros = payout_due_micros - ${micros}, updated_at = ${now} WHERE id = ${id}`;
  const guards: [GuardCode, Sql][] = [["partner_not_found", partnerMissing(id)]];
  if (kind === "payout") {
    guards.push(["payout_exceeds_due", sql`(SELECT payout_due_micros FROM partners WHERE id = ${id}) < ${micros}`]);
  }
  return {
    status: 201,
    statements: [
      firstGuard(guards),
      change,
      auditStatement({
        at: now,
        actor: c.get("operator").sub,
        action: `partner.${kind}`,
        target: id,
        detail: { amount: body.amount, reference: body.reference },
      }),
    ],
    response: transferJson(kind, body, id, now),
    describe: {
      partner_not_found: { message: `no partner ${id}` },
      payout_exceeds_due: {
        param: "amount.value",
        message: sql`(SELECT 'the payout exceeds what is due to the partner (' || ${microsText(raw("payout_due_micros"))} || ' ' ||
                      ${c.env.SETTLEMENT_CURRENCY} || ')' FROM partners WHERE id = ${id})`,
      },
    },
  };
}

export const partnerFundingRoutes: RouteModule = (r) => {
  r.openapi(transferRoute("payments", "Record a prepaid top-up or a postpaid payment (takes an Idempotency-Key)", []), (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    return runKeyedWrite(c, "operator", ({ now }) => transferPlan(c, "payment", id, body, now));
  });

  r.openapi(
    transferRoute("payouts", "Record a payout of what closed statements owe the partner (payout_due; takes an Idempotency-Key)", [
      "payout_exceeds_due",
    ]),
    (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      return runKeyedWrite(c, "operator", ({ now }) => transferPlan(c, "payout", id, body, now));
    },
  );
};
