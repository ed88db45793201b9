import type { Sql } from "../../db/sql-template";
import { ApiError } from "../../http/errors";
import { type CommandContext, Refusal, type WritePlan } from "../../http/runner";
import type { RateCard } from "../../rates/cards";
import { pointsForDiscount } from "../../rates/conversion";
import { formatDecimal, parseDecimal } from "../../rates/decimal";
import { burnStatements } from "../burn";
import { memberOfRef } from "../member";
import { newTransactionId } from "../transactions";
import { MAX_POINTS, memberGuard, partnerSettings, pointValue, requireCard, riskChecked, transactionAnswer } from "./common";

/** `POST /v1/burns` (partner-api.md §5): redeem points, posted at once or held for a capture. */
export interface BurnInput {
  partnerId: string;
  memberRef: string;
  points?: number;
  amount?: { value: string; unit: string };
  capture: boolean;
  orderRef?: string;
  context: { ip: string; device_id?: string | undefined };
  requestId: string;
}

/** The points a burn takes (pure): as asked, or what a money discount costs, rounded up. */
export function burnedPoints(
  card: RateCard,
  input: Pick<BurnInput, "amount" | "points">,
): { points: bigint; rate: string | null } {
  if (!input.amount) return { points: BigInt(input.points ?? 0), rate: null };
  const unit = input.amount.unit;
  const burnRate = card.burn.find((b) => b.unit === unit);
  if (!burnRate) throw new ApiError("unknown_unit", `this partner does not redeem points for ${unit}`, "amount.unit");
  // Never give more discount than was paid for.
  const points = pointsForDiscount({ amount: parseDecimal(input.amount.value), valuePerPoint: burnRate.valuePerPoint });
  return { points, rate: formatDecimal(burnRate.valuePerPoint) };
}

export function planBurn(input: BurnInput, ctx: CommandContext): WritePlan {
  const { catalogue, now, bucket } = ctx;
  const partner = partnerSettings(catalogue, input.partnerId);
  const member = memberOfRef(input.partnerId, input.memberRef);
  const before: Sql[] = [memberGuard(member)];
  const card = requireCard(catalogue, input.partnerId, now, before);
  let burned: { points: bigint; rate: string | null };
  try {
    burned = burnedPoints(card, input);
  } catch (error) {
    throw error instanceof ApiError ? new Refusal(error, before) : error;
  }
  if (burned.points > BigInt(MAX_POINTS)) {
    throw new Refusal(new ApiError("amount_too_large", "one transaction burns at most 10^12 points", "amount"), before);
  }
  const points = Number(burned.points);
  const txnId = newTransactionId(bucket);
  const planned = input.capture ? "posted" : "held";
  const statementsOf = (status: Sql | undefined) =>
    burnStatements({
      txn: {
        id: txnId,
        type: "burn",
        status: planned,
        partnerId: input.partnerId,
        member,
        points,
        direction: -1,
        orderRef: input.orderRef,
        amountValue: input.amount?.value,
        amountUnit: input.amount?.unit,
        rate: burned.rate,
        rateCardId: card.id,
        issuePriceMicros: Number(card.issuePriceMicros),
        redeemPriceMicros: Number(card.redeemPriceMicros),
        occurredAt: now,
        bookedAt: now,
        expiresAt: input.capture ? null : now + partner.holdTtlSeconds * 1000,
        contextIp: input.context.ip,
        contextDevice: input.context.device_id,
      },
      redeemerId: input.partnerId,
      redeemPriceMicros: Number(card.redeemPriceMicros),
      ...(status ? { status } : {}),
    });
  const risk = { kind: "burn" as const, partnerId: input.partnerId, txnId, member, memberRef: input.memberRef, points };
  const write = riskChecked(ctx, { ...risk, context: input.context, now, requestId: input.requestId }, (check) => [
    ...before,
    ...check.wrap(statementsOf(check.status(planned))),
  ]);
  return { status: 201, ...write, response: transactionAnswer(txnId, now, pointValue(card)) };
}
