/**
 * Exact decimal arithmetic for money, rates and prices.
 *
 * Floating point is never used for points, rates or money (partner-api §1), so a value is an
 * integer count of 10^-scale units. Every operation is exact; rounding only happens through
 * the named functions at the bottom, each of which matches one rule of economics.md.
 */

/** value = units × 10^-scale. Immutable; scale is a non-negative safe integer. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export interface ParseDecimalOptions {
  /** Most decimals accepted (partner-api §1: at most 6). */
  maxScale?: number;
  /** Requests carry positive amounts and rates; only responses may be negative. */
  allowNegative?: boolean;
}

/** A decimal string that does not follow the wire format. */
export class DecimalFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecimalFormatError";
  }
}

export const DEFAULT_MAX_SCALE = 6;

const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

export const ZERO: Decimal = Object.freeze({ units: 0n, scale: 0 });

export function decimal(units: bigint, scale = 0): Decimal {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`decimal scale must be a non-negative integer, got ${scale}`);
  }
  return Object.freeze({ units, scale });
}

/** Whole numbers (points, counts). A `number` must be a safe integer: no fractions sneak in. */
export function fromInt(n: bigint | number): Decimal {
  if (typeof n === "number" && !Number.isSafeInteger(n)) {
    throw new RangeError(`expected a safe integer, got ${n}`);
  }
  return decimal(BigInt(n));
}

/** Points are whole numbers; the same as fromInt, named for readability at call sites. */
export function fromPoints(points: bigint | number): Decimal {
  return fromInt(points);
}

export function parseDecimal(s: string, opts: ParseDecimalOptions = {}): Decimal {
  const maxScale = opts.maxScale ?? DEFAULT_MAX_SCALE;
  if (typeof s !== "string" || !DECIMAL_PATTERN.test(s)) {
    throw new DecimalFormatError(`invalid decimal ${JSON.stringify(s)}: expected digits with an optional fraction, like "12.34"`);
  }
  const negative = s.startsWith("-");
  if (negative && !opts.allowNegative) {
    throw new DecimalFormatError(`invalid decimal ${JSON.stringify(s)}: must not be negative`);
  }
  const body = negative ? s.slice(1) : s;
  const [whole = "", fraction = ""] = body.split(".");
  if (fraction.length > maxScale) {
    throw new DecimalFormatError(`invalid decimal ${JSON.stringify(s)}: at most ${maxScale} decimals allowed`);
  }
  const magnitude = BigInt(whole + fraction);
  return decimal(negative ? -magnitude : magnitude, fraction.length);
}

/**
 * Canonical string: no exponent, no "-0", trailing zeros dropped down to `minScale`
 * (so `formatDecimal(x, 2)` prints money as "12.30"). Never drops significant digits.
 */
export function formatDecimal(d: Decimal, minScale = 0): string {
  const n = normalize(d);
  const scale = Math.max(n.scale, minScale);
  const units = n.units * pow10(scale - n.scale);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return (negative ? "-" : "") + whole + (scale > 0 ? `.${fraction}` : "");
}

/** The same value at the smallest scale (trailing zeros removed). */
export function normalize(d: Decimal): Decimal {
  if (d.units === 0n) return d.scale === 0 ? d : ZERO;
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return scale === d.scale ? d : decimal(units, scale);
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return decimal(rescaleUnits(a, scale) + rescaleUnits(b, scale), scale);
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return add(a, neg(b));
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return decimal(a.units * b.units, a.scale + b.scale);
}

export function neg(d: Decimal): Decimal {
  return decimal(-d.units, d.scale);
}

/** -1, 0 or 1, comparing values (1.50 equals 1.5). */
export function cmp(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const x = rescaleUnits(a, scale);
  const y = rescaleUnits(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function equals(a: Decimal, b: Decimal): boolean {
  return cmp(a, b) === 0;
}

export function isZero(d: Decimal): boolean {
  return d.units === 0n;
}

export function isNegative(d: Decimal): boolean {
  return d.units < 0n;
}

export function isPositive(d: Decimal): boolean {
  return d.units > 0n;
}

// ---- Named roundings: each one is a business rule, so each has its own name. ----

/** Earn: fractions of a point are dropped (toward −∞). */
export function floorToInteger(d: Decimal): bigint {
  return floorDiv(d.units, pow10(d.scale));
}

/** Points needed for a money discount round up (toward +∞), so the partner is never short. */
export function ceilToInteger(d: Decimal): bigint {
  return -floorDiv(-d.units, pow10(d.scale));
}

/**
 * Money on a statement: rounded once per figure to `scale` decimals, ties to even
 * (banker's rounding, so residuals do not drift one way). Never loses precision when
 * `scale` is already enough; the result always has exactly `scale` decimals.
 */
export function roundHalfEven(d: Decimal, scale: number): Decimal {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`rounding scale must be a non-negative integer, got ${scale}`);
  }
  if (d.scale <= scale) return decimal(rescaleUnits(d, scale), scale);
  const divisor = pow10(d.scale - scale);
  const magnitude = d.units < 0n ? -d.units : d.units;
  let quotient = magnitude / divisor;
  const twiceRemainder = 2n * (magnitude % divisor);
  if (twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n)) {
    quotient += 1n;
  }
  return decimal(d.units < 0n ? -quotient : quotient, scale);
}

/** What rounding left out: `rounded + residual = exact`. */
export function roundingResidual(exact: Decimal, rounded: Decimal): Decimal {
  return sub(exact, rounded);
}

/** ⌈a / b⌉ exactly, e.g. a discount of 1.001 at 0.008 per point costs 126 points. */
export function divideCeilToInteger(a: Decimal, b: Decimal): bigint {
  const [n, m] = commonUnits(a, b);
  return -floorDiv(-n, m);
}

/** ⌊a / b⌋ exactly. */
export function divideFloorToInteger(a: Decimal, b: Decimal): bigint {
  const [n, m] = commonUnits(a, b);
  return floorDiv(n, m);
}

// ---- internals ----

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Units of `d` expressed at a scale at least as large as its own. */
function rescaleUnits(d: Decimal, scale: number): bigint {
  return d.units * pow10(scale - d.scale);
}

/** Both operands as integers at one scale, so a / b = n / m. */
function commonUnits(a: Decimal, b: Decimal): [bigint, bigint] {
  if (b.units === 0n) throw new RangeError("division by zero");
  const scale = Math.max(a.scale, b.scale);
  return [rescaleUnits(a, scale), rescaleUnits(b, scale)];
}

/** Floor division for any signs (bigint `/` truncates toward zero). */
function floorDiv(n: bigint, m: bigint): bigint {
  if (m < 0n) {
    n = -n;
    m = -m;
  }
  const q = n / m;
  return n % m < 0n ? q - 1n : q;
}
