import { auditStatement } from "../audit/log";
import { firstGuard, type GuardCode, guard } from "../db/guard";
import { microsText, timeText } from "../db/sql";
import { raw, type Sql, sql } from "../db/sql-template";
import { ApiError } from "../http/errors";
import { type CommandContext, Refusal, type WritePlan } from "../http/runner";
import { fundingCreditSet } from "../ledger/funding";
import { partnerExists } from "./commands";
import { fundingMicros, requireCurrency } from "./money";
import type { TransferBody } from "./schemas";

/**
 * Money between the operator and a partner (operator-api.md "Partners and keys"): a payment the
 * partner made (a prepaid top-up, or a postpaid payment lowering its exposure) and a payout the
 * operator made (of what closed statements left it owing: payout_due). Each takes an
 * Idempotency-Key, is audited, and answers the partner's funding position as committed; each is
 * one batch.
 */

export interface TransferRequest {
  kind: "payment" | "payout";
  partnerId: string;
  body: TransferBody;
  actor: string;
  /** The settlement currency, the only one funding moves in. */
  currency: string;
}

/** The answer: the transfer and the partner's funding, rendered by SQL after the batch's writes. */
function transferJson({ kind, body, partnerId }: TransferRequest, now: number): Sql {
  const money = (column: string) => sql`json_object('value', ${microsText(raw(column))}, 'unit', ${body.amount.unit})`;
  return sql`(SELECT json_object(
      ${kind}, json_object('partner_id', id, 'amount', json_object('value', ${body.amount.value}, 'unit', ${body.amount.unit}),
        'reference', ${body.reference}, 'created_at', ${timeText(sql`${now}`)}),
      'partner', json_object('id', id, 'funding', json_object('mode', funding_mode,
        'balance', ${money("prepaid_balance_micros")}, 'credit_limit', ${money("credit_limit_micros")},
        'exposure', ${money("exposure_micros")}), 'payout_due', ${money("payout_due_micros")}))
    FROM partners WHERE id = ${partnerId})`;
}

export function planTransfer(transfer: TransferRequest, { now }: Pick<CommandContext, "now">): WritePlan {
  const { kind, partnerId: id, body, currency } = transfer;
  const partnerMissing = sql`NOT ${partnerExists(id)}`;
  try {
    requireCurrency(body.amount.unit, currency, "amount.unit");
  } catch (error) {
    // An unknown partner answers first.
    throw error instanceof ApiError ? new Refusal(error, [guard("partner_not_found", partnerMissing)]) : error;
  }
  const micros = fundingMicros(body.amount.value, "amount.value");
  const change =
    kind === "payment"
      ? // A top-up raises the balance; a postpaid payment lowers the exposure, never below zero
        // (beyond it, the partner overpaid: that is owed back as payout_due).
        sql`UPDATE partners SET ${fundingCreditSet(sql`${micros}`)}, updated_at = ${now} WHERE id = ${id}`
      : sql`UPDATE partners SET payout_due_micros = payout_due_micros - ${micros}, updated_at = ${now} WHERE id = ${id}`;
  const guards: [GuardCode, Sql][] = [["partner_not_found", partnerMissing]];
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
        actor: transfer.actor,
        action: `partner.${kind}`,
        target: id,
        detail: { amount: body.amount, reference: body.reference },
      }),
    ],
    response: transferJson(transfer, now),
    describe: {
      partner_not_found: { message: `no partner ${id}` },
      payout_exceeds_due: {
        param: "amount.value",
        message: sql`(SELECT 'the payout exceeds what is due to the partner (' || ${microsText(raw("payout_due_micros"))} || ' ' ||
                      ${currency} || ')' FROM partners WHERE id = ${id})`,
      },
    },
  };
}
