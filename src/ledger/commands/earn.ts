import type { Sql } from "../../db/sql-template";
import { ApiError } from "../../http/errors";
import { type CommandContext, Refusal, type WritePlan } from "../../http/runner";
import type { RateCard } from "../../rates/cards";
import { activeCampaignMultipliers, earnPoints } from "../../rates/conversion";
import { formatDecimal, fromInt, mul, parseDecimal } from "../../rates/decimal";
import { earnStatements } from "../earn";
import { lotExpiry } from "../expiry-policy";
import { earnDrawMicros, reserveFunding } from "../funding-reservations";
import { memberOfRef } from "../member";
import { newTransactionId } from "../transactions";
import { MAX_POINTS, memberGuard, partnerSettings, pointValue, requireCard, riskChecked, transactionAnswer } from "./common";

/** `POST /v1/earn` (partner-api.md §5): points for a purchase, by amount at the earn rate, or by points. */
export interface EarnInput {
  partnerId: string;
  memberRef: string;
  amount?: { value: string; unit: string };
  points?: number;
  orderRef?: string;
  /** ms; default now. */
  occurredAt?: number;
  context: { ip: string; device_id?: string | undefined };
  requestId: string;
}

/** occurred_at may be this far ahead of the server clock (partner clock skew). */
const FUTURE_TOLERANCE_MS = 300_000;
/** One transaction's funding draw in micros must stay exact in a D1 bind and SQLite integer. */
const MAX_DRAW_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

export interface EarnedPoints {
  points: bigint;
  rate: string | null;
  multiplier: string | null;
}

/** The points an earn books (pure): by amount, rate × campaign multipliers floored once; or as asked. */
export function earnedPoints(card: RateCard, input: Pick<EarnInput, "amount" | "points">, occurredAt: number): EarnedPoints {
  if (!input.amount) return { points: BigInt(input.points ?? 0), rate: null, multiplier: null };
  const unit = input.amount.unit;
  const earnRate = card.earn.find((e) => e.unit === unit);
  if (!earnRate) throw new ApiError("unknown_unit", `this partner does not award points for ${unit}`, "amount.unit");
  const multipliers = activeCampaignMultipliers(card.campaigns, new Date(occurredAt)).map((m) => m.multiplier);
  const points = earnPoints({ amount: parseDecimal(input.amount.value), pointsPerUnit: earnRate.pointsPerUnit, multipliers });
  if (points < 1n) throw new ApiError("amount_too_small", "this amount earns less than one point", "amount.value");
  return {
    points,
    rate: formatDecimal(earnRate.pointsPerUnit),
    multiplier: formatDecimal(multipliers.reduce(mul, fromInt(1))),
  };
}

export function planEarn(input: EarnInput, ctx: CommandContext): WritePlan {
  const { catalogue, now, bucket } = ctx;
  const partner = partnerSettings(catalogue, input.partnerId);
  const member = memberOfRef(input.partnerId, input.memberRef);
  const before: Sql[] = [memberGuard(member)];
  const card = requireCard(catalogue, input.partnerId, now, before);
  const occurredAt = input.occurredAt ?? now;
  const windowDays = catalogue.settings.reportingWindowDays;
  if (occurredAt < now - windowDays * 86_400_000 || occurredAt > now + FUTURE_TOLERANCE_MS) {
    const message = `occurred_at must be within the last ${windowDays} days`;
    throw new Refusal(new ApiError("occurred_at_out_of_window", message, "occurred_at"), before);
  }
  let earned: EarnedPoints;
  try {
    earned = earnedPoints(card, input, occurredAt);
  } catch (error) {
    throw error instanceof ApiError ? new Refusal(error, before) : error;
  }
  if (earned.points > BigInt(MAX_POINTS)) {
    throw new Refusal(new ApiError("amount_too_large", "one transaction earns at most 10^12 points", "amount"), before);
  }
  if (earned.points * card.issuePriceMicros > MAX_DRAW_MICROS) {
    const code = partner.fundingMode === "prepaid" ? "partner_funds_exhausted" : "partner_credit_limit";
    throw new Refusal(new ApiError(code, "this issuance is larger than any funding position"), before);
  }
  const points = Number(earned.points);
  const txnId = newTransactionId(bucket);
  const pending = partner.pendingDays > 0;
  const planned = pending ? "pending" : "posted";
  const statementsOf = (status: Sql | undefined) =>
    earnStatements({
      txn: {
        id: txnId,
        type: "earn",
        status: planned,
        partnerId: input.partnerId,
        member,
        points,
        direction: 1,
        orderRef: input.orderRef,
        amountValue: input.amount?.value,
        amountUnit: input.amount?.unit,
        rate: earned.rate,
        multiplier: earned.multiplier,
        rateCardId: card.id,
        issuePriceMicros: Number(card.issuePriceMicros),
        redeemPriceMicros: Number(card.redeemPriceMicros),
        occurredAt,
        bookedAt: now,
        availableAt: pending ? now + partner.pendingDays * 86_400_000 : null,
        contextIp: input.context.ip,
        contextDevice: input.context.device_id,
      },
      issuerId: input.partnerId,
      issuePriceMicros: Number(card.issuePriceMicros),
      lotExpiresAt: lotExpiry(now, catalogue.settings.expiryMonths),
      drawFunding: true,
      // On a shard other than main, the funding is reserved in main first (round one) and the shard records the draw.
      ...(ctx.split ? { funding: "reserved" as const } : {}),
      ...(status ? { status } : {}),
    });
  const risk = { kind: "earn" as const, partnerId: input.partnerId, txnId, member, memberRef: input.memberRef, points };
  const reserve = ctx.split
    ? {
        key: txnId,
        statements: reserveFunding({
          txnId,
          partnerId: input.partnerId,
          micros: earnDrawMicros(points, Number(card.issuePriceMicros)),
          shard: ctx.shard,
          now,
        }),
      }
    : undefined;
  const write = riskChecked(
    ctx,
    { ...risk, context: input.context, now, requestId: input.requestId },
    (check) => [...before, ...check.wrap(statementsOf(check.status(planned)))],
    reserve,
  );
  return { status: 201, ...write, response: transactionAnswer(txnId, now, pointValue(card)) };
}
