import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  activeCampaignMultipliers,
  type Campaign,
  discountValue,
  earnPoints,
  isoWeekdayUtc,
  pointsForDiscount,
  settlementAmount,
} from "../../src/rates/conversion";
import { cmp, type Decimal, decimal, floorToInteger, formatDecimal, fromInt, mul, parseDecimal } from "../../src/rates/decimal";

const RUNS = { numRuns: 200 };
const d = (s: string) => parseDecimal(s);

const nonNegativeDecimal = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 6 }))
  .map(([u, s]) => decimal(u, s));
const positiveDecimal = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 6 }))
  .map(([u, s]) => decimal(u, s));
const multiplier = fc.tuple(fc.bigInt({ min: 1n, max: 500n }), fc.integer({ min: 0, max: 2 })).map(([u, s]) => decimal(u, s));
const points = fc.bigInt({ min: 0n, max: 10n ** 12n });

describe("earnPoints", () => {
  it("converts at the earn rate and drops fractions of a point", () => {
    expect(earnPoints({ amount: d("58.00"), pointsPerUnit: d("1"), multipliers: [] })).toBe(58n);
    expect(earnPoints({ amount: d("58.99"), pointsPerUnit: d("1"), multipliers: [] })).toBe(58n);
    expect(earnPoints({ amount: d("3"), pointsPerUnit: d("0.5"), multipliers: [] })).toBe(1n);
    expect(earnPoints({ amount: d("58.00"), pointsPerUnit: d("1"), multipliers: [d("2")] })).toBe(116n);
  });

  it("floors once, after all multipliers", () => {
    // 1 × 0.5 × 3 × 3 × 3 = 13.5 → 13; flooring after the rate would give 0 × 27 = 0.
    const input = { amount: d("1"), pointsPerUnit: d("0.5"), multipliers: [d("3"), d("3"), d("3")] };
    expect(earnPoints(input)).toBe(13n);
    // 0.5 × 1.5 × 1.5 = 1.125 → 1, while flooring each step gives 0.
    expect(earnPoints({ amount: d("1"), pointsPerUnit: d("0.5"), multipliers: [d("1.5"), d("1.5")] })).toBe(1n);
  });

  it("equals the floor of the exact product, never less than stepwise flooring, in any order", () => {
    fc.assert(
      fc.property(nonNegativeDecimal, positiveDecimal, fc.array(multiplier, { maxLength: 4 }), (amount, rate, ms) => {
        const earned = earnPoints({ amount, pointsPerUnit: rate, multipliers: ms });
        const exact = ms.reduce((acc, m) => mul(acc, m), mul(amount, rate));
        expect(earned).toBe(floorToInteger(exact));
        const stepwise = ms.reduce((acc, m) => floorToInteger(mul(fromInt(acc), m)), floorToInteger(mul(amount, rate)));
        expect(earned >= stepwise).toBe(true);
        expect(earnPoints({ amount, pointsPerUnit: rate, multipliers: [...ms].reverse() })).toBe(earned);
      }),
      RUNS,
    );
  });

  it("stays exact for huge amounts", () => {
    expect(earnPoints({ amount: d("999999999999.999999"), pointsPerUnit: d("1"), multipliers: [] })).toBe(999_999_999_999n);
    expect(earnPoints({ amount: d("1000000000000"), pointsPerUnit: d("0.000001"), multipliers: [d("3")] })).toBe(3_000_000n);
  });

  it("rejects negative inputs", () => {
    const neg = parseDecimal("-1", { allowNegative: true });
    expect(() => earnPoints({ amount: neg, pointsPerUnit: d("1"), multipliers: [] })).toThrow(RangeError);
    expect(() => earnPoints({ amount: d("1"), pointsPerUnit: neg, multipliers: [] })).toThrow(RangeError);
    expect(() => earnPoints({ amount: d("1"), pointsPerUnit: d("1"), multipliers: [neg] })).toThrow(RangeError);
  });
});

describe("burn conversions", () => {
  it("rounds the points for a discount up", () => {
    expect(pointsForDiscount({ amount: d("1.00"), valuePerPoint: d("0.008") })).toBe(125n);
    expect(pointsForDiscount({ amount: d("1.001"), valuePerPoint: d("0.008") })).toBe(126n);
    expect(pointsForDiscount({ amount: d("5.00"), valuePerPoint: d("0.01") })).toBe(500n);
    expect(pointsForDiscount({ amount: d("4"), valuePerPoint: d("0.8") })).toBe(5n);
    expect(pointsForDiscount({ amount: d("0"), valuePerPoint: d("0.8") })).toBe(0n);
  });

  it("requires a positive value per point", () => {
    expect(() => pointsForDiscount({ amount: d("1"), valuePerPoint: d("0") })).toThrow(RangeError);
    expect(() => pointsForDiscount({ amount: d("1"), valuePerPoint: parseDecimal("-0.01", { allowNegative: true }) })).toThrow(
      RangeError,
    );
  });

  it("buys at least the discount, and one point fewer would not", () => {
    fc.assert(
      fc.property(nonNegativeDecimal, positiveDecimal, (amount, valuePerPoint) => {
        const p = pointsForDiscount({ amount, valuePerPoint });
        expect(cmp(discountValue({ points: p, valuePerPoint }), amount)).toBeGreaterThanOrEqual(0);
        if (p > 0n) {
          expect(cmp(discountValue({ points: p - 1n, valuePerPoint }), amount)).toBe(-1);
        }
      }),
      RUNS,
    );
  });

  it("values points exactly", () => {
    expect(formatDecimal(discountValue({ points: 500n, valuePerPoint: d("0.01") }), 2)).toBe("5.00");
    expect(formatDecimal(discountValue({ points: 3n, valuePerPoint: d("0.8") }))).toBe("2.4");
  });
});

describe("settlementAmount", () => {
  it("is exact for 10^12 points at a 6-decimal price", () => {
    expect(formatDecimal(settlementAmount(10n ** 12n, d("0.123456")))).toBe("123456000000");
    expect(formatDecimal(settlementAmount(999_999_999_999n, d("0.000001")))).toBe("999999.999999");
    expect(formatDecimal(settlementAmount(10n ** 12n, d("0.010")), 2)).toBe("10000000000.00");
  });

  it("equals points × price with no rounding", () => {
    fc.assert(
      fc.property(points, positiveDecimal, (p, price) => {
        const amount = settlementAmount(p, price);
        expect(cmp(amount, decimal(p * price.units, price.scale))).toBe(0);
      }),
      RUNS,
    );
  });
});

describe("activeCampaignMultipliers", () => {
  const doubleSaturdays: Campaign = {
    name: "Double Saturdays",
    multiplier: "2",
    from: "2026-12-01T00:00:00Z",
    to: "2027-01-01T00:00:00Z",
    days_of_week: [6],
  };
  const at = (s: string) => new Date(s);
  const names = (cs: Campaign[], t: string) => activeCampaignMultipliers(cs, at(t)).map((c) => c.name);

  it("numbers weekdays ISO-style in UTC", () => {
    expect(isoWeekdayUtc(at("2026-12-05T12:00:00Z"))).toBe(6); // Saturday
    expect(isoWeekdayUtc(at("2026-12-06T12:00:00Z"))).toBe(7); // Sunday
    expect(isoWeekdayUtc(at("2026-12-07T12:00:00Z"))).toBe(1); // Monday
    // 23:30 on Saturday in UTC is already Sunday in Shanghai, but UTC decides.
    expect(isoWeekdayUtc(at("2026-12-05T23:30:00Z"))).toBe(6);
  });

  it("matches a Saturday in December and not a Sunday", () => {
    const active = activeCampaignMultipliers([doubleSaturdays], at("2026-12-05T06:10:00Z"));
    expect(active).toHaveLength(1);
    expect(active[0]?.name).toBe("Double Saturdays");
    expect(formatDecimal(active[0]?.multiplier ?? d("0"))).toBe("2");
    expect(names([doubleSaturdays], "2026-12-06T06:10:00Z")).toEqual([]);
    expect(names([{ ...doubleSaturdays, days_of_week: [7] }], "2026-12-06T06:10:00Z")).toEqual(["Double Saturdays"]);
  });

  it("includes from and excludes to", () => {
    const always: Campaign = { ...doubleSaturdays, days_of_week: undefined };
    expect(names([always], "2026-11-30T23:59:59.999Z")).toEqual([]);
    expect(names([always], "2026-12-01T00:00:00Z")).toEqual(["Double Saturdays"]);
    expect(names([always], "2026-12-31T23:59:59.999Z")).toEqual(["Double Saturdays"]);
    expect(names([always], "2027-01-01T00:00:00Z")).toEqual([]);
  });

  it("multiplies overlapping campaigns", () => {
    const anniversary: Campaign = {
      name: "Anniversary",
      multiplier: "1.5",
      from: "2026-12-05T00:00:00Z",
      to: "2026-12-06T00:00:00Z",
    };
    const active = activeCampaignMultipliers([doubleSaturdays, anniversary], at("2026-12-05T10:00:00Z"));
    expect(active.map((c) => c.name)).toEqual(["Double Saturdays", "Anniversary"]);
    const multipliers: Decimal[] = active.map((c) => c.multiplier);
    // 33 × 1 × 2 × 1.5 = 99
    expect(earnPoints({ amount: d("33"), pointsPerUnit: d("1"), multipliers })).toBe(99n);
  });

  it("rejects invalid times", () => {
    expect(() => activeCampaignMultipliers([doubleSaturdays], new Date(Number.NaN))).toThrow(RangeError);
    expect(() => activeCampaignMultipliers([{ ...doubleSaturdays, from: "soon" }], at("2026-12-05T00:00:00Z"))).toThrow(
      RangeError,
    );
  });

  it("is active exactly when from ≤ t < to and the UTC weekday is listed", () => {
    const from = Date.parse("2026-12-01T00:00:00Z");
    const to = Date.parse("2026-12-15T00:00:00Z");
    const day = 86_400_000;
    fc.assert(
      fc.property(
        fc.integer({ min: from - 3 * day, max: to + 3 * day }),
        fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 7 }), { nil: undefined }),
        (t, days) => {
          const campaign: Campaign = {
            name: "c",
            multiplier: "2",
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            days_of_week: days,
          };
          // Reference weekday from the epoch: 1970-01-01 was a Thursday (ISO 4).
          const isoDay = ((((Math.floor(t / day) + 3) % 7) + 7) % 7) + 1;
          const expected = from <= t && t < to && (days === undefined || days.includes(isoDay));
          expect(activeCampaignMultipliers([campaign], new Date(t)).length).toBe(expected ? 1 : 0);
        },
      ),
      RUNS,
    );
  });
});
