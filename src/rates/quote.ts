import { ApiError } from "../http/errors";
import { burnRateFor, earnRateFor, type RateCard } from "./cards";
import { activeCampaignMultipliers, earnPoints, pointsForDiscount } from "./conversion";
import { type Decimal, formatDecimal, fromInt, mul, parseDecimal } from "./decimal";

/** The most points one transaction may carry (partner-api.md §1); a quote beyond it is refused. */
const MAX_POINTS = 1_000_000_000_000n;

function tooLarge(): ApiError {
  return new ApiError("invalid_param", `value is too large: a transaction carries at most ${MAX_POINTS} points`, "value");
}

/** `GET /v1/quote` (partner-api.md §5): what `value` of `unit` earns now at the card, and what that discount costs. */
export function quote(card: RateCard | undefined, unit: string, value: string, now: number) {
  if (!card) throw new ApiError("no_rate_card", "this partner has no rate card in force");
  const earnRate = earnRateFor(card, unit);
  const burnRate = burnRateFor(card, unit);
  if (earnRate === undefined && burnRate === undefined) {
    throw new ApiError("unknown_unit", `this partner neither earns nor redeems in ${unit}`, "unit");
  }
  const amount = parseDecimal(value);

  let earn: { points: number; rate: string; multiplier: string; campaigns: string[] } | null = null;
  if (earnRate !== undefined) {
    const active = activeCampaignMultipliers(card.campaigns, new Date(now));
    const multipliers = active.map((a) => a.multiplier);
    const points = earnPoints({ amount, pointsPerUnit: earnRate, multipliers });
    if (points > MAX_POINTS) throw tooLarge();
    const product = multipliers.reduce<Decimal>((acc, m) => mul(acc, m), fromInt(1));
    earn = {
      points: Number(points),
      rate: formatDecimal(earnRate),
      multiplier: formatDecimal(product),
      campaigns: active.map((a) => a.name),
    };
  }

  let burn: { points: number; value_per_point: string } | null = null;
  if (burnRate !== undefined) {
    const points = pointsForDiscount({ amount, valuePerPoint: burnRate });
    if (points > MAX_POINTS) throw tooLarge();
    burn = { points: Number(points), value_per_point: formatDecimal(burnRate) };
  }

  return { amount: { value, unit }, earn, burn, rate_card_id: card.id };
}
