/**
 * Guards inside an atomic D1 batch. D1 has no interactive transactions, so a batch must carry
 * its own checks: `guardStatement(db, code, violationSql)` inserts into the `guard` table when
 * the violation holds, which fails the CHECK constraint named `code` and rolls the whole batch
 * back. `guardViolated(error)` maps the failure back to its code.
 */
export type GuardCode =
  | "insufficient_points"
  | "hold_not_open"
  | "nothing_to_reverse"
  | "partner_funds_exhausted"
  | "partner_credit_limit"
  | "idempotency_claim_lost"
  | "link_code_invalid"
  | "member_ref_conflict"
  | "settlement_closed"
  | "review_not_open";

const GUARD_CODES: ReadonlySet<string> = new Set<GuardCode>([
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
]);

/** `INSERT INTO guard` when `violation` (a SQL boolean expression) is true; aborts the batch. */
export function guardStatement(db: D1Database, code: GuardCode, violation: string, ...binds: unknown[]): D1PreparedStatement {
  return db.prepare(`INSERT INTO guard (name) SELECT '${code}' WHERE ${violation}`).bind(...binds);
}

/** The guard code that aborted a batch, or undefined for any other failure. */
export function guardViolated(error: unknown): GuardCode | undefined {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  const match = /CHECK constraint failed: ([a-z_]+)/.exec(message);
  const code = match?.[1];
  return code !== undefined && GUARD_CODES.has(code) ? (code as GuardCode) : undefined;
}
