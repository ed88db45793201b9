/**
 * Double-entry postings (invariant 1: every transaction's postings sum to zero). Each posting is
 * one row; a trigger keeps account_balances in step. Amounts are SQL expressions so a posting
 * can carry what the same batch computed (e.g. the points a FIFO statement actually moved).
 */
export const account = {
  issuer: (partnerId: string) => `issuer:${partnerId}`,
  member: (memberId: string) => `member:${memberId}`,
  held: (memberId: string) => `held:${memberId}`,
  redeemed: (partnerId: string) => `redeemed:${partnerId}`,
  debt: (memberId: string) => `debt:${memberId}`,
  breakage: "breakage",
} as const;

export interface Leg {
  account: string;
  /** SQL integer expression over the statement's binds (?1 = txn id, ?2 = now, then the legs'). */
  points: string;
}

/**
 * One INSERT of all legs of a movement. Legs with zero points are skipped. The caller must make
 * the legs sum to zero; the invariant checker in the tests verifies it for every transaction.
 */
export function postingsStatement(
  db: D1Database,
  txnId: string,
  now: number,
  legs: Leg[],
  binds: unknown[] = [],
  onlyIf = "1",
): D1PreparedStatement {
  if (legs.length < 2) throw new Error("a posting needs at least two legs");
  const rows = legs.map((leg, i) => `SELECT ?${i + 3 + binds.length} AS account, (${leg.points}) AS points`).join(" UNION ALL ");
  return db
    .prepare(
      `INSERT INTO postings (txn_id, account, points, at)
       SELECT ?1, legs.account, legs.points, ?2 FROM (${rows}) AS legs WHERE legs.points <> 0 AND (${onlyIf})`,
    )
    .bind(txnId, now, ...binds, ...legs.map((l) => l.account));
}
