/**
 * Exact decimals for checking a statement (no floating point for money, §1): value =
 * units × 10^-scale. The subset of the exchange's src/rates/decimal.ts that verification needs,
 * so the SDK depends on nothing but jose.
 */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export const ZERO: Decimal = { units: 0n, scale: 0 };

const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const rescale = (d: Decimal, scale: number): bigint => d.units * pow10(scale - d.scale);

/** A signed decimal string with at most 18 decimals; throws on anything else. */
export function parseDecimal(s: string): Decimal {
  if (typeof s !== "string" || !DECIMAL_PATTERN.test(s)) throw new Error(`invalid decimal ${JSON.stringify(s)}`);
  const negative = s.startsWith("-");
  const [whole = "", fraction = ""] = (negative ? s.slice(1) : s).split(".");
  if (fraction.length > 18) throw new Error(`invalid decimal ${JSON.stringify(s)}: more than 18 decimals`);
  const magnitude = BigInt(whole + fraction);
  return { units: negative ? -magnitude : magnitude, scale: fraction.length };
}

/** No exponent, no "-0", trailing zeros dropped down to `minScale`. */
export function formatDecimal(d: Decimal, minScale = 0): string {
  let { units, scale } = d;
  while (scale > minScale && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  if (scale < minScale) {
    units *= pow10(minScale - scale);
    scale = minScale;
  }
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  return (negative ? "-" : "") + whole + (scale > 0 ? `.${digits.slice(digits.length - scale)}` : "");
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function neg(d: Decimal): Decimal {
  return { units: -d.units, scale: d.scale };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return add(a, neg(b));
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** Rounded once to `scale` decimals, ties to even: how the exchange rounds each statement figure. */
export function roundHalfEven(d: Decimal, scale: number): Decimal {
  if (d.scale <= scale) return { units: rescale(d, scale), scale };
  const divisor = pow10(d.scale - scale);
  const magnitude = d.units < 0n ? -d.units : d.units;
  let quotient = magnitude / divisor;
  const twiceRemainder = 2n * (magnitude % divisor);
  if (twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n)) quotient += 1n;
  return { units: d.units < 0n ? -quotient : quotient, scale };
}

/** ISO 4217 minor units of the currencies whose minor unit is not 2 (as src/settlement/money.ts). */
const MINOR_UNITS: Record<string, number> = {
  BHD: 3,
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  IQD: 3,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  PYG: 0,
  RWF: 0,
  TND: 3,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
};

export function minorUnits(currency: string): number {
  return MINOR_UNITS[currency] ?? 2;
}
