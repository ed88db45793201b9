import { sqlInt } from "../db/sql";
import { ApiError } from "../http/errors";
import { parseMicros } from "../rates/micros";

/**
 * Funding amounts are kept as exact micros in 64-bit SQL integers; one amount may be at most a
 * billion units of the settlement currency (far above any partner's position), so balances and
 * exposures stay exact however many of them add up.
 */
const MAX_FUNDING_MICROS = 10n ** 15n;

/** A funding amount's wire value in micros, refused (at `param`) beyond the maximum. */
export function fundingMicros(value: string, param: string): number {
  const micros = parseMicros(value);
  if (micros > MAX_FUNDING_MICROS) throw new ApiError("invalid_body", "an amount may be at most 1000000000", param);
  return sqlInt(micros);
}

/** Funding moves only in the settlement currency. */
export function requireCurrency(unit: string, currency: string, param: string): void {
  if (unit !== currency) throw new ApiError("unknown_unit", `funding is in the settlement currency ${currency}`, param);
}
