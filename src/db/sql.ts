import { raw, type Sql, sql } from "./sql-template";

/**
 * SQL expression builders for rendering inside a batch (responses are rendered by SQL from the
 * rows the batch just wrote, so the stored idempotent response is exactly what was committed).
 */

/** RFC 3339 UTC text of an integer-ms expression. */
export function timeText(expr: Sql): Sql {
  return sql`strftime('%Y-%m-%dT%H:%M:%SZ', CAST((${expr}) AS INTEGER) / 1000, 'unixepoch')`;
}

/** Decimal text of an integer count of 10^-6 units, with at least 2 decimals ("12.30", "-0.008"). */
export function microsText(expr: Sql): Sql {
  const x = sql`(${expr})`;
  const sign = sql`CASE WHEN ${x} < 0 THEN '-' ELSE '' END`;
  return sql`CASE WHEN abs(${x}) % 10000 = 0
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

/** Decimal text of an integer expression scaled by 10^-scale (scale 0..18), exact: 1234, 2 → "12.34". */
export function scaledText(expr: Sql, scale: number): Sql {
  if (!Number.isInteger(scale) || scale < 0 || scale > 18) throw new RangeError(`bad scale ${scale}`);
  if (scale === 0) return sql`printf('%d', ${expr})`;
  const x = sql`(${expr})`;
  const p = raw(String(10 ** scale));
  return sql`printf('%s%d.%0${raw(String(scale))}d', CASE WHEN ${x} < 0 THEN '-' ELSE '' END, abs(${x}) / ${p}, abs(${x}) % ${p})`;
}

/** Drops null members of a JSON object (RFC 7396 merge of the object into {}). */
export function jsonWithoutNulls(objectExpr: Sql): Sql {
  return sql`json_patch('{}', ${objectExpr})`;
}
