/**
 * Points ⇄ money conversions from a rate card (economics.md "Prices and rates").
 * Pure and exact: the only roundings are the ones the contract names.
 */
import {
  type Decimal,
  divideCeilToInteger,
  floorToInteger,
  fromPoints,
  isNegative,
  isPositive,
  mul,
  parseDecimal,
} from "./decimal";

export interface EarnInput {
  amount: Decimal;
  pointsPerUnit: Decimal;
  /** Multipliers of every campaign active at `occurred_at`; overlapping ones multiply. */
  multipliers: readonly Decimal[];
}

/** A campaign as stored on a rate card (operator-api "Rates"). */
export interface Campaign {
  name: string;
  /** Decimal string, e.g. "2". */
  multiplier: string;
  /** RFC 3339, inclusive. */
  from: string;
  /** RFC 3339, exclusive. */
  to: string;
  /** ISO weekdays in UTC, 1 = Monday … 7 = Sunday; absent means every day. */
  days_of_week?: readonly number[];
}

export interface ActiveCampaign {
  name: string;
  multiplier: Decimal;
}

/**
 * amount × rate × Π multipliers, floored once at the end: flooring after each step would
 * lose points the member is owed (0.5 × 3 × 3 = 4.5 → 4, not 0).
 */
export function earnPoints({ amount, pointsPerUnit, multipliers }: EarnInput): bigint {
  requireNonNegative("amount", amount);
  requireNonNegative("points_per_unit", pointsPerUnit);
  let exact = mul(amount, pointsPerUnit);
  for (const multiplier of multipliers) {
    requireNonNegative("multiplier", multiplier);
    exact = mul(exact, multiplier);
  }
  return floorToInteger(exact);
}

/** Points needed for a discount of `amount`, rounded up so the discount is fully paid for. */
export function pointsForDiscount({ amount, valuePerPoint }: { amount: Decimal; valuePerPoint: Decimal }): bigint {
  requireNonNegative("amount", amount);
  if (!isPositive(valuePerPoint)) {
    throw new RangeError("value_per_point must be greater than zero");
  }
  return divideCeilToInteger(amount, valuePerPoint);
}

/** The discount `points` buy at this partner, exact. */
export function discountValue({ points, valuePerPoint }: { points: bigint; valuePerPoint: Decimal }): Decimal {
  return mul(fromPoints(points), valuePerPoint);
}

/** Settlement money for `points` at a stored issue or redeem price, exact (rounded later, per figure). */
export function settlementAmount(points: bigint, price: Decimal): Decimal {
  return mul(fromPoints(points), price);
}

/**
 * Campaigns whose window contains `occurredAt` (from ≤ t < to) and, when they name weekdays,
 * whose ISO weekday in UTC matches. Input order is kept.
 */
export function activeCampaignMultipliers(campaigns: readonly Campaign[], occurredAt: Date): ActiveCampaign[] {
  const t = occurredAt.getTime();
  if (Number.isNaN(t)) throw new RangeError("occurred_at is not a valid time");
  const weekday = isoWeekdayUtc(occurredAt);
  const active: ActiveCampaign[] = [];
  for (const campaign of campaigns) {
    const from = parseTime(campaign.from, `campaign ${campaign.name}: from`);
    const to = parseTime(campaign.to, `campaign ${campaign.name}: to`);
    if (t < from || t >= to) continue;
    if (campaign.days_of_week && !campaign.days_of_week.includes(weekday)) continue;
    active.push({ name: campaign.name, multiplier: parseDecimal(campaign.multiplier) });
  }
  return active;
}

/** 1 = Monday … 7 = Sunday, in UTC (JS counts Sunday as 0). */
export function isoWeekdayUtc(at: Date): number {
  const day = at.getUTCDay();
  return day === 0 ? 7 : day;
}

function parseTime(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not a valid time: ${value}`);
  return ms;
}

function requireNonNegative(what: string, d: Decimal): void {
  if (isNegative(d)) throw new RangeError(`${what} must not be negative`);
}
