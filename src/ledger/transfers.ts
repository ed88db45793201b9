import { join, raw, type Sql, sql } from "../db/sql-template";

/**
 * Double entry (invariant 1). A transaction's postings are written as transfers: one row per pair
 * of legs, `points` leave `from_account` and reach `to_account` (a negative transfer moves points
 * the other way), so every transaction sums to zero by construction and an earn writes one row.
 * Accounts:
 *   issuer:<partner>   points issued by a partner (negative: outstanding issuance)
 *   member:<id>        a member's points (its lots)
 *   held:<id>          a member's points reserved by open holds and review burns
 *   redeemed:<partner> points redeemed at a partner
 *   breakage           expired points
 *   debt:<id>          points a member owes after earn reversals (negative when owed)
 * Balances are sums over transfers (test/support/invariants.ts, src/ledger/invariants.ts).
 */
export const account = {
  issuer: (partnerId: string) => sql`${`issuer:${partnerId}`}`,
  member: (member: Sql) => sql`('member:' || ${member})`,
  held: (member: Sql) => sql`('held:' || ${member})`,
  redeemed: (partnerId: string | Sql) =>
    typeof partnerId === "string" ? sql`${`redeemed:${partnerId}`}` : sql`('redeemed:' || ${partnerId})`,
  debt: (member: Sql) => sql`('debt:' || ${member})`,
  breakage: raw("'breakage'"),
} as const;

export interface Leg {
  account: Sql;
  /** SQL integer: the points this leg's account gains (negative: loses). */
  points: Sql;
}

/**
 * The transfers of one movement: `hub` is one account and `legs` the others; each leg receives
 * its points from the hub, so the hub gives exactly what the legs gain (the legs of the old
 * postings, hub first, sum to zero: the hub's own amount is implied). Legs with zero points are
 * skipped; `onlyIf` gates the whole statement. Numbers continue after the transaction's earlier
 * transfers (a hold's capture follows its reservation).
 */
export function transfersStatement(txnId: string, now: number, hub: Sql, legs: readonly Leg[], onlyIf: Sql = raw("1")): Sql {
  if (legs.length < 1) throw new Error("a transfer needs a hub and at least one leg");
  const rows = join(
    legs.map((leg, i) => sql`SELECT ${i} AS k, ${leg.account} AS account, (${leg.points}) AS points`),
    " UNION ALL ",
  );
  return sql`INSERT INTO transfers (txn_id, n, from_account, to_account, points, at)
    SELECT ${txnId}, (SELECT COALESCE(MAX(n), 0) FROM transfers WHERE txn_id = ${txnId}) + ROW_NUMBER() OVER (ORDER BY legs.k),
           ${hub}, legs.account, legs.points, ${now}
      FROM (${rows}) AS legs WHERE legs.points <> 0 AND (${onlyIf})`;
}
