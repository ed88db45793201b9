/**
 * Guards inside an atomic D1 batch. D1 has no interactive transactions, so a batch must carry
 * its own checks: `guardStatement(db, code, violationSql)` inserts into the `guard` table when
 * the violation holds, which fails the CHECK constraint named `code` and rolls the whole batch
 * back. `guardViolated(error)` maps the failure back to its code.
 */
/** Every guard code, in the order of the `guard` table's CHECK constraints (the latest migration that rebuilds it). */
export const GUARD_CODES = [
  "insufficient_points",
  "hold_not_open",
  "nothing_to_reverse",
  "partner_funds_exhausted",
  "partner_credit_limit",
  "idempotency_claim_lost",
  "link_code_invalid",
  "member_ref_conflict",
  "settlement_closed",
  "review_not_open",
  "payout_exceeds_due",
  "close_funding_moved",
] as const;

export type GuardCode = (typeof GUARD_CODES)[number];

const GUARD_CODE_SET: ReadonlySet<string> = new Set<string>(GUARD_CODES);

/** `INSERT INTO guard` when `violation` (a SQL boolean expression) is true; aborts the batch. */
export function guardStatement(db: D1Database, code: GuardCode, violation: string, ...binds: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO guard (name) SELECT '${code}' WHERE ${violation}`).bind(...binds);
}

/** The guard code that aborted a batch, or undefined for any other failure. */
export function guardViolated(error: unknown): GuardCode | undefined {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  const match = /CHECK constraint failed: ([a-z_]+)/.exec(message);
  const code = match?.[1];
  return code !== undefined && GUARD_CODE_SET.has(code) ? (code as GuardCode) : undefined;
}
