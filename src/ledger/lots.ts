/**
 * Lot movements as batch statements. Every FIFO choice is made by SQL inside the batch (window
 * sums over the member's live lots), never from a read in JavaScript, so concurrent batches
 * cannot both spend the same points: the batch that runs second sees the first one's result.
 * A trigger applies each movement to its lot; lots.remaining >= 0 is a CHECK.
 *
 * Every INSERT … SELECT below ends in `ORDER BY before` (a window result): that forces SQLite to
 * compute all source rows before the first insert fires the trigger that changes the lots.
 */

/** Spendable lots of member ?M at ?NOW, soonest-expiring first, then oldest. */
const SPENDABLE = "remaining > 0 AND available_at <= ?2 AND expires_at > ?2";

/**
 * Takes `points` from member's spendable lots, FIFO by expiry, as movements of `kind`
 * (consume: posted burn or adjustment debit; reserve: hold or review burn). Binds: ?1 txn id,
 * ?2 now, ?3 points, ?4 member, ?5 redeemer, ?6 redeem price micros.
 */
export function takeFromLots(
  db: D1Database,
  args: {
    txnId: string;
    now: number;
    points: number;
    memberId: string;
    kind: "consume" | "reserve";
    redeemerId: string | null;
    redeemPriceMicros: number | null;
    /** SQL condition (may use ?1, the txn id) for the movement to happen at all. */
    onlyIf?: string;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
       SELECT ?1, id, '${args.kind}', MIN(remaining, ?3 - before), issuer_id, ?5, issue_price_micros, ?6, ?2
         FROM (SELECT id, remaining, issuer_id, issue_price_micros,
                      COALESCE(SUM(remaining) OVER (ORDER BY expires_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                 FROM lots WHERE member_id = ?4 AND ${SPENDABLE})
        WHERE before < ?3 AND (${args.onlyIf ?? "1"})
        ORDER BY before`,
    )
    .bind(args.txnId, args.now, args.points, args.memberId, args.redeemerId, args.redeemPriceMicros);
}

/** SQL: the member's available points at ?2 (spendable lots minus debt). Binds ?1 member, ?2 now. */
export const AVAILABLE_SQL = `((SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1 AND ${SPENDABLE})
  - (SELECT debt_points FROM members WHERE id = ?1))`;

/** Points of `kinds` that transaction `txnId` moved (SQL, bind ?1 = txn id). */
export function movedSql(kinds: string[], txnParam = "?1"): string {
  const list = kinds.map((k) => `'${k}'`).join(", ");
  return `(SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = ${txnParam} AND kind IN (${list}))`;
}

/**
 * Captures `points` of hold ?1's reservations, in reservation order, as `capture` movements
 * (consumption records at the redeemer), then releases whatever was not captured.
 * Binds: ?1 hold id, ?2 now, ?3 points to capture, ?4 redeem price micros.
 */
export function captureReservations(db: D1Database, holdId: string, now: number, points: number, redeemPriceMicros: number) {
  return [
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, ref_id, at)
         SELECT ?1, lot_id, 'capture', MIN(points, ?3 - before), issuer_id,
                (SELECT partner_id FROM transactions WHERE id = ?1), issue_price_micros, ?4, id, ?2
           FROM (SELECT id, lot_id, points, issuer_id, issue_price_micros,
                        COALESCE(SUM(points) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                   FROM lot_movements WHERE txn_id = ?1 AND kind = 'reserve')
          WHERE before < ?3
          ORDER BY id`,
      )
      .bind(holdId, now, points, redeemPriceMicros),
    releaseReservations(db, holdId, now),
  ];
}

/** Gives back every reserved point of hold ?1 not captured (void, partial capture, expiry). */
export function releaseReservations(db: D1Database, holdId: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, ref_id, at)
       SELECT r.txn_id, r.lot_id, 'release', r.points - COALESCE(c.points, 0), r.issuer_id, r.issue_price_micros, r.id, ?2
         FROM lot_movements r
         LEFT JOIN lot_movements c ON c.ref_id = r.id AND c.kind = 'capture'
        WHERE r.txn_id = ?1 AND r.kind = 'reserve' AND r.points - COALESCE(c.points, 0) > 0
        ORDER BY r.id`,
    )
    .bind(holdId, now);
}

/**
 * Burn reversal: gives back `points` of burn ?3's consumption, last consumed first, onto the
 * same lots (with their original expiry). Binds: ?1 reversal id, ?2 now, ?3 burn id, ?4 points.
 */
export function restoreConsumption(db: D1Database, reversalId: string, now: number, burnId: string, points: number) {
  return db
    .prepare(
      `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, ref_id, at)
       SELECT ?1, lot_id, 'restore', MIN(left_points, ?4 - before), issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, id, ?2
         FROM (SELECT id, lot_id, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, left_points,
                      COALESCE(SUM(left_points) OVER (ORDER BY id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                 FROM (SELECT c.id, c.lot_id, c.issuer_id, c.redeemer_id, c.issue_price_micros, c.redeem_price_micros,
                              c.points - COALESCE((SELECT SUM(r.points) FROM lot_movements r WHERE r.ref_id = c.id AND r.kind = 'restore'), 0) AS left_points
                         FROM lot_movements c WHERE c.txn_id = ?3 AND c.kind IN ('consume', 'capture'))
                WHERE left_points > 0)
        WHERE before < ?4
        ORDER BY id DESC`,
    )
    .bind(reversalId, now, burnId, points);
}

/**
 * Debt repayment (economics.md "Ledger"): points that reach a member with debt repay the oldest
 * debt first. `sourceSql` lists the lots credited by this transaction (lot_id, avail, ord); the
 * first statement takes the repaid points back out of those lots (`repay` movements: which
 * issuer's points repaid), the second books them against the debts, oldest first.
 * Binds: ?1 txn id, ?2 now, ?3 member.
 */
export function repayDebt(db: D1Database, txnId: string, now: number, memberId: string, source: "earned_lot" | "restored") {
  const sourceSql =
    source === "earned_lot"
      ? "SELECT id AS lot_id, remaining AS avail, id AS ord FROM lots WHERE txn_id = ?1"
      : // Points restored onto a lot already past its expiry never reach the member: they don't repay.
        `SELECT mv.lot_id, mv.points AS avail, -mv.id AS ord FROM lot_movements mv JOIN lots rl ON rl.id = mv.lot_id
          WHERE mv.txn_id = ?1 AND mv.kind = 'restore' AND rl.expires_at > ?2`;
  return [
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at)
         SELECT ?1, lot_id, 'repay', MIN(avail, debt - before), issuer_id, issue_price_micros, ?2
           FROM (SELECT src.lot_id, src.avail, l.issuer_id, l.issue_price_micros, m.debt_points AS debt,
                        COALESCE(SUM(src.avail) OVER (ORDER BY src.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                   FROM (${sourceSql}) AS src JOIN lots l ON l.id = src.lot_id JOIN members m ON m.id = ?3
                  WHERE m.debt_points > 0 AND src.avail > 0)
          WHERE before < debt
          ORDER BY before`,
      )
      .bind(txnId, now, memberId),
    db
      .prepare(
        `INSERT INTO debt_repayments (debt_id, txn_id, points, at)
         SELECT id, ?1, MIN(outstanding, repaid - before), ?2
           FROM (SELECT d.id, d.outstanding, ${movedSql(["repay"])} AS repaid,
                        COALESCE(SUM(d.outstanding) OVER (ORDER BY d.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                   FROM debts d WHERE d.member_id = ?3 AND d.outstanding > 0)
          WHERE before < repaid
          ORDER BY before`,
      )
      .bind(txnId, now, memberId),
  ];
}
