/**
 * SQL expression builders for rendering inside a batch (responses are rendered by SQL from the
 * rows the batch just wrote, so the stored idempotent response is exactly what was committed).
 */

/** RFC 3339 UTC text of an integer-ms column. */
export function sqlTime(expr: string): string {
  return `strftime('%Y-%m-%dT%H:%M:%SZ', (${expr}) / 1000, 'unixepoch')`;
}

/** Decimal text of an integer count of 10^-6 units, with at least 2 decimals ("12.30", "-0.008"). */
export function sqlMicrosText(expr: string): string {
  const x = `(${expr})`;
  const sign = `CASE WHEN ${x} < 0 THEN '-' ELSE '' END`;
  return `CASE WHEN abs(${x}) % 10000 = 0
      THEN printf('%s%d.%02d', ${sign}, abs(${x}) / 1000000, (abs(${x}) % 1000000) / 10000)
      ELSE rtrim(printf('%s%d.%06d', ${sign}, abs(${x}) / 1000000, abs(${x}) % 1000000), '0') END`;
}

/**
 * D1 binds numbers, not bigints. Exact integers up to 2^53 pass unchanged; anything larger is a
 * bug upstream (points are at most 10^12, money at most 9·10^9 units in micros), so it throws.
 */
export function sqlInt(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`integer ${value} is outside the exact range of a D1 bind`);
  }
  return Number(value);
}
