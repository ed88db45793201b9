import { MAX_PARAMS, raw, type Sql, sql } from "./sql-template";

/**
 * Guards inside an atomic D1 batch. D1 has no interactive transactions, so a batch carries its
 * own checks: `guard(code, violation)` inserts into the `guard` table when the violation holds,
 * which fails the CHECK constraint named `code` and rolls the whole batch back. Statements run
 * in order, so the first guard that fails names the answer. `guardViolated(error)` maps the
 * failure back to its code.
 *
 * GUARD_CODES is the one list: the migration that last rebuilt the `guard` table has exactly
 * these constraints, in this order (test/db/guard-codes.test.ts), and every code that is answered
 * is an error code of src/http/errors.ts with its message here.
 */
export const GUARD_CODES = [
  "unknown_key",
  "partner_suspended",
  "replayed_request",
  "catalogue_stale",
  "idempotency_key_exists",
  "member_not_found",
  "transaction_not_found",
  "partner_not_found",
  "partner_exists",
  "key_exists",
  "key_not_found",
  "capture_exceeds_hold",
  "insufficient_points",
  "hold_not_open",
  "nothing_to_reverse",
  "partner_funds_exhausted",
  "partner_credit_limit",
  "link_code_invalid",
  "member_ref_conflict",
  "settlement_closed",
  "review_not_open",
  "payout_exceeds_due",
  "close_funding_moved",
  "members_exist",
  "bucket_elsewhere",
  "member_elsewhere",
] as const;

export type GuardCode = (typeof GUARD_CODES)[number];

/**
 * Guards that are never an answer: the runner acts on them (decides again, reads the record), or
 * an operator's tool reports them (members_exist: the bucket map cannot be spread any more), or
 * the router places the request again (bucket_elsewhere, member_elsewhere: src/shards/placement.ts).
 */
export const INTERNAL_GUARDS = [
  "catalogue_stale",
  "idempotency_key_exists",
  "close_funding_moved",
  "members_exist",
  "bucket_elsewhere",
  "member_elsewhere",
] as const;
export type AnsweredGuard = Exclude<GuardCode, (typeof INTERNAL_GUARDS)[number]>;

/** What each answered guard says. */
export const GUARD_MESSAGES: Record<AnsweredGuard, string> = {
  unknown_key: "no active key with this kid for this partner",
  partner_suspended: "this partner is suspended",
  replayed_request: "this jti was already used",
  member_not_found: "no member with this member_ref is linked to this partner",
  transaction_not_found: "no such transaction was made by this partner",
  partner_not_found: "no such partner",
  partner_exists: "a partner with this id exists",
  key_exists: "the partner already has a key with this kid",
  key_not_found: "the partner has no key with this kid",
  capture_exceeds_hold: "at most the held points can be captured",
  insufficient_points: "the member does not have enough available points",
  hold_not_open: "this hold is no longer open",
  nothing_to_reverse: "nothing is left to reverse on this transaction",
  partner_funds_exhausted: "the partner's prepaid balance does not cover this issuance",
  partner_credit_limit: "this issuance would exceed the partner's credit limit",
  link_code_invalid: "the link code is unknown, used or expired",
  member_ref_conflict: "this member_ref is already linked to another member",
  settlement_closed: "this settlement period is closed",
  review_not_open: "this transaction is not in review",
  payout_exceeds_due: "the payout exceeds what is due to the partner",
};

const GUARD_CODE_SET: ReadonlySet<string> = new Set<string>(GUARD_CODES);

type GuardCase = readonly [GuardCode, Sql];
const CASES = Symbol("guard cases");
/** A guard statement that knows its cases, so that adjacent guards can share one statement. */
type GuardSql = Sql & { readonly [CASES]: readonly GuardCase[] };

function casesOf(statement: Sql): readonly GuardCase[] | undefined {
  return (statement as Partial<GuardSql>)[CASES];
}

/** `INSERT INTO guard` when `violation` (a SQL boolean) holds; aborts the batch. */
export function guard(code: GuardCode, violation: Sql): Sql {
  return firstGuard([[code, violation]]);
}

/** One guard that names the first of several violations (`[code, violation]` in order), or none. */
export function firstGuard(cases: readonly GuardCase[]): Sql {
  const [only] = cases;
  const statement =
    cases.length === 1 && only
      ? sql`INSERT INTO guard (name) SELECT ${raw(`'${only[0]}'`)} WHERE ${only[1]}`
      : sql`INSERT INTO guard (name) SELECT name FROM (SELECT CASE ${joinWhens(
          cases.map(([code, violation]) => sql`WHEN ${violation} THEN ${raw(`'${code}'`)}`),
        )} END AS name) WHERE name IS NOT NULL`;
  return Object.freeze({ ...statement, [CASES]: cases });
}

/**
 * Adjacent guards as one statement each run (within D1's bind limit): the CASE takes the first
 * violation in order, which is the answer the separate statements gave, and nothing ran between
 * them. Fewer statements is less work for D1 per batch (each one is parsed and planned).
 */
export function mergeGuards(statements: readonly Sql[]): Sql[] {
  const out: Sql[] = [];
  let run: GuardCase[] = [];
  let params = 0;
  const flush = () => {
    if (run.length > 0) out.push(firstGuard(run));
    run = [];
    params = 0;
  };
  for (const statement of statements) {
    const cases = casesOf(statement);
    if (!cases) {
      flush();
      out.push(statement);
      continue;
    }
    if (params + statement.params.length > MAX_PARAMS) flush();
    run.push(...cases);
    params += statement.params.length;
  }
  flush();
  return out;
}

function joinWhens(parts: Sql[]): Sql {
  return parts.reduce((all, p) => sql`${all} ${p}`, raw(""));
}

/** The guard code that aborted a batch, or undefined for any other failure. */
export function guardViolated(error: unknown): GuardCode | undefined {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  const match = /CHECK constraint failed: ([a-z_]+)/.exec(message);
  const code = match?.[1];
  return code !== undefined && GUARD_CODE_SET.has(code) ? (code as GuardCode) : undefined;
}

export function isInternalGuard(code: GuardCode): code is (typeof INTERNAL_GUARDS)[number] {
  return (INTERNAL_GUARDS as readonly string[]).includes(code);
}
