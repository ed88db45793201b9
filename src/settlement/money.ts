import { type Decimal, formatDecimal, roundHalfEven, roundingResidual } from "../rates/decimal";
import { fromMicros } from "../rates/micros";

/**
 * Statement money: exact amounts are integer micro-units (points × price in micros per point);
 * each figure is rounded once, half-even, to the currency's minor unit, and the residual
 * (exact − rounded) is shown beside it.
 */

/** ISO 4217 minor units of the currencies whose minor unit is not 2. */
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

export interface Figure {
  /** The rounded amount, as the contract's `{ value, unit }`. */
  amount: { value: string; unit: string };
  /** The exact amount (up to 6 decimals). */
  exact: string;
  /** exact − rounded. */
  rounding: string;
}

/** One figure from exact micros: rounded once, half-even, with its residual. */
export function figure(micros: bigint, currency: string): Figure {
  const scale = minorUnits(currency);
  const exact: Decimal = fromMicros(micros);
  const rounded = roundHalfEven(exact, scale);
  return {
    amount: { value: formatDecimal(rounded, scale), unit: currency },
    exact: formatDecimal(exact, scale),
    rounding: formatDecimal(roundingResidual(exact, rounded), scale),
  };
}

/** Exact micros as a decimal string ("0.08", "-1.234567"). */
export function exactText(micros: bigint, currency: string): string {
  return formatDecimal(fromMicros(micros), minorUnits(currency));
}
