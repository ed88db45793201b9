import { type Decimal, decimal, formatDecimal, parseDecimal } from "./decimal";

/**
 * Settlement-currency money kept in D1 as integer micro-units (10^-6), so balances, limits and
 * aggregates are exact INTEGER columns that SQL guards can compare. Wire values have at most
 * 6 decimals (partner-api.md §1), so the conversion is exact both ways.
 */
export const MICROS_SCALE = 6;

export function toMicros(d: Decimal): bigint {
  if (d.scale > MICROS_SCALE) throw new RangeError(`more than ${MICROS_SCALE} decimals`);
  return d.units * 10n ** BigInt(MICROS_SCALE - d.scale);
}

export function fromMicros(micros: bigint | number): Decimal {
  return decimal(BigInt(micros), MICROS_SCALE);
}

/** A wire amount value ("12.34") in micros. */
export function parseMicros(value: string): bigint {
  return toMicros(parseDecimal(value));
}

/** Micros as a wire value with at least `minScale` decimals ("12.30"). */
export function formatMicros(micros: bigint | number, minScale = 2): string {
  return formatDecimal(fromMicros(micros), minScale);
}
