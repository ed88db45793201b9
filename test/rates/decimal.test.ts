import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add,
  ceilToInteger,
  cmp,
  type Decimal,
  DecimalFormatError,
  decimal,
  divideCeilToInteger,
  divideFloorToInteger,
  equals,
  floorToInteger,
  formatDecimal,
  fromInt,
  fromPoints,
  isNegative,
  isZero,
  mul,
  neg,
  parseDecimal,
  roundHalfEven,
  roundingResidual,
  sub,
} from "../../src/rates/decimal";

const RUNS = { numRuns: 200 };

const units = fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n });
const anyDecimal = fc.tuple(units, fc.integer({ min: 0, max: 9 })).map(([u, s]) => decimal(u, s));
const wireDecimal = fc.tuple(units, fc.integer({ min: 0, max: 6 })).map(([u, s]) => decimal(u, s));
const positiveDecimal = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 18n }), fc.integer({ min: 0, max: 9 }))
  .map(([u, s]) => decimal(u, s));

/** Reference: a / b as an exact fraction n/d with d > 0, compared by cross-multiplication. */
function fraction(d: Decimal): [bigint, bigint] {
  return [d.units, 10n ** BigInt(d.scale)];
}

describe("parseDecimal / formatDecimal", () => {
  it("parses the wire format", () => {
    expect(parseDecimal("12.34")).toEqual(decimal(1234n, 2));
    expect(parseDecimal("0.008")).toEqual(decimal(8n, 3));
    expect(parseDecimal("7")).toEqual(decimal(7n, 0));
    expect(parseDecimal("-1.5", { allowNegative: true })).toEqual(decimal(-15n, 1));
    expect(parseDecimal("0.1234567", { maxScale: 9 })).toEqual(decimal(1234567n, 7));
  });

  it.each(["1e5", "+1", "1.", ".5", "1.1234567", "", " 1", "1 ", "NaN", "Infinity", "1,5", "0x10", "--1"])("rejects %j", (s) => {
    expect(() => parseDecimal(s, { allowNegative: true })).toThrow(DecimalFormatError);
  });

  it("rejects negatives unless allowed", () => {
    expect(() => parseDecimal("-1")).toThrow(DecimalFormatError);
    expect(() => parseDecimal("-0.01")).toThrow(/negative/);
    expect(() => parseDecimal("1.1234567")).toThrow(/at most 6 decimals/);
  });

  it("formats canonically", () => {
    expect(formatDecimal(parseDecimal("12.3"), 2)).toBe("12.30");
    expect(formatDecimal(parseDecimal("12.300"))).toBe("12.3");
    expect(formatDecimal(parseDecimal("12.345"), 2)).toBe("12.345");
    expect(formatDecimal(parseDecimal("0.000001"))).toBe("0.000001");
    expect(formatDecimal(parseDecimal("-0.50", { allowNegative: true }))).toBe("-0.5");
    expect(formatDecimal(parseDecimal("-0.00", { allowNegative: true }), 2)).toBe("0.00");
    expect(formatDecimal(decimal(10n ** 30n, 0))).toBe(`1${"0".repeat(30)}`);
    expect(formatDecimal(decimal(1n, 20))).toBe(`0.${"0".repeat(19)}1`);
  });

  it("round-trips parse ∘ format", () => {
    fc.assert(
      fc.property(wireDecimal, fc.integer({ min: 0, max: 6 }), (d, minScale) => {
        const s = formatDecimal(d, minScale);
        expect(s).toMatch(/^-?\d+(\.\d+)?$/);
        expect(s).not.toMatch(/^-0(\.0*)?$/);
        const back = parseDecimal(s, { allowNegative: true });
        expect(equals(back, d)).toBe(true);
        expect(formatDecimal(back, minScale)).toBe(s);
      }),
      RUNS,
    );
  });
});

describe("arithmetic", () => {
  it("add and sub are inverse", () => {
    fc.assert(
      fc.property(anyDecimal, anyDecimal, (a, b) => {
        expect(cmp(sub(add(a, b), b), a)).toBe(0);
        expect(cmp(add(sub(a, b), b), a)).toBe(0);
      }),
      RUNS,
    );
  });

  it("mul is commutative and exact", () => {
    fc.assert(
      fc.property(anyDecimal, anyDecimal, (a, b) => {
        expect(cmp(mul(a, b), mul(b, a))).toBe(0);
        const [an, ad] = fraction(a);
        const [bn, bd] = fraction(b);
        const [pn, pd] = fraction(mul(a, b));
        expect(pn * ad * bd).toBe(an * bn * pd);
      }),
      RUNS,
    );
  });

  it("compares by value across scales", () => {
    expect(cmp(parseDecimal("1.50"), parseDecimal("1.5"))).toBe(0);
    expect(cmp(parseDecimal("0.009"), parseDecimal("0.01"))).toBe(-1);
    expect(cmp(parseDecimal("2"), parseDecimal("1.999999"))).toBe(1);
    expect(isZero(parseDecimal("0.000"))).toBe(true);
    expect(isNegative(neg(parseDecimal("0.1")))).toBe(true);
    expect(isNegative(neg(parseDecimal("0")))).toBe(false);
  });

  it("fromInt accepts only whole numbers", () => {
    expect(fromInt(42)).toEqual(decimal(42n));
    expect(fromInt(10n ** 12n)).toEqual(decimal(10n ** 12n));
    expect(fromPoints(500)).toEqual(decimal(500n));
    expect(() => fromInt(1.5)).toThrow(RangeError);
    expect(() => fromInt(Number.NaN)).toThrow(RangeError);
    expect(() => fromInt(2 ** 60)).toThrow(RangeError);
  });

  it("keeps 10^12 points × a 6-decimal price exact", () => {
    const total = mul(fromPoints(10n ** 12n), parseDecimal("0.123457"));
    expect(formatDecimal(total)).toBe("123457000000");
    const odd = mul(fromPoints(999_999_999_999n), parseDecimal("9999.999999"));
    expect(formatDecimal(odd)).toBe("9999999998990000.000001");
  });
});

describe("roundings", () => {
  // Random units almost never land on a tie, so half the cases are built as exact ties.
  const tieCase = fc
    .tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 8 }))
    .map(([k, scale]) => ({ d: decimal(k * 10n + (k < 0n ? -5n : 5n), scale + 1), scale }));
  const anyCase = fc.tuple(anyDecimal, fc.integer({ min: 0, max: 9 })).map(([d, scale]) => ({ d, scale }));

  it("roundHalfEven matches an integer reference (ties to even)", () => {
    fc.assert(
      fc.property(fc.oneof(tieCase, anyCase), ({ d, scale }) => {
        const rounded = roundHalfEven(d, scale);
        expect(rounded.scale).toBe(scale);
        // Reference: exact value × 10^scale = n / m; pick the nearest integer, even on a tie.
        const m = 10n ** BigInt(Math.max(d.scale - scale, 0));
        const n = d.units * 10n ** BigInt(Math.max(scale - d.scale, 0));
        let floor = n / m;
        if (n % m !== 0n && n < 0n) floor -= 1n;
        const twiceOver = 2n * (n - floor * m); // 2 × distance above floor, in 1/m steps
        let expected = floor;
        if (twiceOver > m) expected = floor + 1n;
        else if (twiceOver === m) expected = floor % 2n === 0n ? floor : floor + 1n;
        expect(rounded.units).toBe(expected);
        // The residual restores the exact value and is at most half a minor unit.
        const residual = roundingResidual(d, rounded);
        expect(cmp(add(rounded, residual), d)).toBe(0);
        const twiceResidual = mul(fromInt(2), residual);
        expect(cmp(twiceResidual, decimal(1n, scale))).toBeLessThanOrEqual(0);
        expect(cmp(twiceResidual, decimal(-1n, scale))).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it("rounds ties to even, in both directions", () => {
    const r = (s: string) => formatDecimal(roundHalfEven(parseDecimal(s, { allowNegative: true }), 2), 2);
    expect(r("0.125")).toBe("0.12");
    expect(r("0.135")).toBe("0.14");
    expect(r("0.1251")).toBe("0.13");
    expect(r("-0.125")).toBe("-0.12");
    expect(r("-0.135")).toBe("-0.14");
    expect(r("-0.004")).toBe("0.00");
    expect(r("2.5")).toBe("2.50");
    expect(formatDecimal(roundHalfEven(parseDecimal("2.5"), 0))).toBe("2");
    expect(formatDecimal(roundHalfEven(parseDecimal("3.5"), 0))).toBe("4");
  });

  it("shows the residual of a rounding", () => {
    const exact = parseDecimal("10.005");
    const rounded = roundHalfEven(exact, 2);
    expect(formatDecimal(rounded, 2)).toBe("10.00");
    expect(formatDecimal(roundingResidual(exact, rounded))).toBe("0.005");
  });

  it("floor ≤ exact < floor + 1 and ceil − 1 < exact ≤ ceil", () => {
    fc.assert(
      fc.property(anyDecimal, (d) => {
        const f = floorToInteger(d);
        const c = ceilToInteger(d);
        expect(cmp(fromInt(f), d)).toBeLessThanOrEqual(0);
        expect(cmp(d, fromInt(f + 1n))).toBe(-1);
        expect(cmp(d, fromInt(c))).toBeLessThanOrEqual(0);
        expect(cmp(fromInt(c - 1n), d)).toBe(-1);
        expect(c - f).toBe(cmp(fromInt(f), d) === 0 ? 0n : 1n);
      }),
      RUNS,
    );
  });

  it("floors and ceils negatives away from zero correctly", () => {
    expect(floorToInteger(parseDecimal("-1.5", { allowNegative: true }))).toBe(-2n);
    expect(ceilToInteger(parseDecimal("-1.5", { allowNegative: true }))).toBe(-1n);
    expect(floorToInteger(parseDecimal("1.999999"))).toBe(1n);
    expect(ceilToInteger(parseDecimal("1.000001"))).toBe(2n);
    expect(ceilToInteger(parseDecimal("3.000"))).toBe(3n);
  });

  it("divides into whole points exactly", () => {
    const vpp = parseDecimal("0.008");
    expect(divideCeilToInteger(parseDecimal("1.00"), vpp)).toBe(125n);
    expect(divideCeilToInteger(parseDecimal("1.001"), vpp)).toBe(126n);
    expect(divideFloorToInteger(parseDecimal("1.001"), vpp)).toBe(125n);
    expect(() => divideCeilToInteger(parseDecimal("1"), parseDecimal("0.000"))).toThrow(RangeError);
  });

  it("divideCeil(a, b) × b ≥ a > (result − 1) × b, and divideFloor mirrors it", () => {
    fc.assert(
      fc.property(anyDecimal, positiveDecimal, (a, b) => {
        const c = divideCeilToInteger(a, b);
        expect(cmp(mul(fromInt(c), b), a)).toBeGreaterThanOrEqual(0);
        expect(cmp(mul(fromInt(c - 1n), b), a)).toBe(-1);
        const f = divideFloorToInteger(a, b);
        expect(cmp(mul(fromInt(f), b), a)).toBeLessThanOrEqual(0);
        expect(cmp(mul(fromInt(f + 1n), b), a)).toBe(1);
        // A negative divisor flips the quotient.
        expect(divideFloorToInteger(a, neg(b))).toBe(-c);
      }),
      RUNS,
    );
  });
});
