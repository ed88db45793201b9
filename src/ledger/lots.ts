import { raw, type Sql, sql } from "../db/sql-template";

/**
 * Lot movements as batch statements. Every FIFO choice is made by SQL inside the batch (a walk
 * of the member's live lots, or window sums over a transaction's movements), never from a read
 * in JavaScript, so concurrent batches cannot both spend the same points: the batch that runs
 * second sees the first one's result.
 * A trigger applies each movement to its lot; lots.remaining >= 0 is a CHECK.
 *
 * Every INSERT … SELECT below ends in `ORDER BY before` (a computed value): that forces SQLite to
 * compute all source rows before the first insert fires the trigger that changes the lots.
 *
 * Movements are keyed by their transaction (migration 0011): `n` numbers a transaction's
 * movements in order, and `ref_n` names the movement one acts on within its own transaction.
 */

/**
 * SQL: the numbers of the movements a statement adds to transaction `txn`, after its last one,
 * in `order` (per `partition` when one statement adds to several transactions). SQLite
 * materialises an INSERT … SELECT into a table with triggers before the first row goes in, so
 * the MAX is read before this statement's own rows.
 */
export function numbered(txn: Sql, order: Sql, partition?: Sql): Sql {
  const over = partition ? sql`PARTITION BY ${partition} ORDER BY ${order}` : sql`ORDER BY ${order}`;
  return sql`(SELECT COALESCE(MAX(n), 0) FROM lot_movements WHERE txn_id = ${txn}) + ROW_NUMBER() OVER (${over})`;
}

/** SQL condition on a `lots` row: spendable at `now` (`live`: remaining > 0, the partial indexes' key). */
function spendable(now: number): Sql {
  return sql`live = 1 AND available_at <= ${now} AND expires_at > ${now}`;
}

export interface TakeFromLots {
  txnId: string;
  now: number;
  points: number | Sql;
  member: Sql;
  kind: "consume" | "reserve";
  redeemerId: string | null;
  redeemPriceMicros: number | Sql | null;
  /** SQL condition for the movement to happen at all. */
  onlyIf?: Sql;
}

/**
 * Takes `points` from the member's spendable lots, FIFO by expiry then age, as movements of
 * `kind` (consume: posted burn or adjustment debit; reserve: hold or review burn).
 */
export function takeFromLots(a: TakeFromLots): Sql {
  return sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
    ${fifoWalk(a.member, a.now, sql`${a.points}`)}
    -- The transaction is new in this batch: these are its first movements (no MAX to read).
    SELECT ${a.txnId}, ROW_NUMBER() OVER (ORDER BY before), id, ${a.kind}, MIN(remaining, ${a.points} - before), issuer_id, ${a.redeemerId}, issue_price_micros,
           ${a.redeemPriceMicros}, ${a.now}
      FROM walk
     -- The condition is constant: SQLite checks it once, before walking any lot.
     WHERE (${a.onlyIf ?? raw("1")}) AND before < ${a.points}
     ORDER BY before`;
}

/**
 * A CTE `walk(id, expires_at, remaining, issuer_id, issue_price_micros, before)`: the member's
 * spendable lots FIFO (by expiry, then age), each with the points of the lots before it, up to
 * the first lot at which they reach `want`. Each step seeks the next lot in `lots_live`
 * (member_id, expires_at, id), so a walk reads the lots it passes, not all of the member's.
 */
function fifoWalk(member: Sql, now: number, want: Sql): Sql {
  // The step's bound is the previous lot (its expiry is after `now`), so the seek starts there.
  const first = sql`(SELECT id FROM lots WHERE member_id = ${member} AND ${spendable(now)} ORDER BY expires_at, id LIMIT 1)`;
  const next = sql`(SELECT id FROM lots WHERE member_id = ${member} AND live = 1 AND available_at <= ${now}
      AND (expires_at, id) > (w.expires_at, w.id) ORDER BY expires_at, id LIMIT 1)`;
  return sql`WITH RECURSIVE walk(id, expires_at, remaining, issuer_id, issue_price_micros, before) AS (
      SELECT id, expires_at, remaining, issuer_id, issue_price_micros, 0 FROM lots WHERE id = ${first}
      UNION ALL
      SELECT n.id, n.expires_at, n.remaining, n.issuer_id, n.issue_price_micros, w.before + w.remaining
        FROM walk w JOIN lots n ON n.id = ${next}
       WHERE w.before + w.remaining < ${want})`;
}

/**
 * SQL condition: the member's available points at `now` (spendable lots minus debt) cover
 * `points`. The walk stops at the lot that reaches the sum, so it reads what the burn will take,
 * not every live lot of the member.
 */
export function covers(member: Sql, now: number, points: number): Sql {
  const want = sql`(${points} + (SELECT debt_points FROM members WHERE id = ${member}))`;
  return sql`(${fifoWalk(member, now, want)} SELECT COALESCE(MAX(before + remaining), 0) >= ${want} FROM walk)`;
}

/** SQL: points of `kinds` that transaction `txnId` moved. */
export function moved(txnId: string, kinds: readonly string[]): Sql {
  const list = raw(kinds.map((k) => `'${k}'`).join(", "));
  return sql`(SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = ${txnId} AND kind IN (${list}))`;
}

/**
 * Captures `points` of hold `holdId`'s reservations, in reservation order, as `capture` movements
 * (consumption records at the redeemer), then releases whatever was not captured.
 */
export function captureReservations(holdId: string, now: number, points: Sql): Sql[] {
  return [
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, ref_n, at)
      SELECT ${holdId}, ${numbered(sql`${holdId}`, raw("mv.n"))}, mv.lot_id, 'capture', MIN(mv.points, mv.want - mv.before), mv.issuer_id,
             h.partner_id, mv.issue_price_micros, h.redeem_price_micros, mv.n, ${now}
        FROM (SELECT n, lot_id, points, issuer_id, issue_price_micros, w.want,
                     COALESCE(SUM(points) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                FROM lot_movements, (SELECT ${points} AS want) w WHERE txn_id = ${holdId} AND kind = 'reserve') AS mv
        JOIN transactions h ON h.id = ${holdId}
       WHERE mv.before < mv.want
       ORDER BY mv.n`,
    releaseReservations(holdId, now),
  ];
}

/** Gives back every reserved point of hold `holdId` not captured (void, partial capture, expiry). */
export function releaseReservations(holdId: string, now: number): Sql {
  return sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, ref_n, at)
    SELECT r.txn_id, ${numbered(sql`${holdId}`, raw("r.n"))}, r.lot_id, 'release', r.points - COALESCE(c.points, 0), r.issuer_id,
           r.issue_price_micros, r.n, ${now}
      FROM lot_movements r
      LEFT JOIN lot_movements c ON c.txn_id = r.txn_id AND c.ref_n = r.n AND c.kind = 'capture'
     WHERE r.txn_id = ${holdId} AND r.kind = 'reserve' AND r.points - COALESCE(c.points, 0) > 0
     ORDER BY r.n`;
}

/**
 * Burn reversal: gives back `points` of burn `burnId`'s consumption, last consumed first, onto the
 * same lots (with their original expiry).
 */
export function restoreConsumption(reversalId: string, now: number, burnId: string, points: Sql, onlyIf: Sql): Sql {
  // What earlier reversals of the burn restored of each consumption (a restore's ref_n is the
  // consumption's n in the burn).
  const restored = sql`(SELECT SUM(r.points) FROM transactions rv JOIN lot_movements r ON r.txn_id = rv.id
      WHERE rv.original_id = ${burnId} AND r.kind = 'restore' AND r.ref_n = c.n)`;
  return sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, ref_n, at)
    SELECT ${reversalId}, ${numbered(sql`${reversalId}`, raw("ref DESC"))}, lot_id, 'restore', MIN(left_points, want - before), issuer_id,
           redeemer_id, issue_price_micros, redeem_price_micros, ref, ${now}
      FROM (SELECT ref, lot_id, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, left_points, w.want,
                   COALESCE(SUM(left_points) OVER (ORDER BY ref DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
              FROM (SELECT c.n AS ref, c.lot_id, c.issuer_id, c.redeemer_id, c.issue_price_micros, c.redeem_price_micros,
                           c.points - COALESCE(${restored}, 0) AS left_points
                      FROM lot_movements c WHERE c.txn_id = ${burnId} AND c.kind IN ('consume', 'capture')),
                   (SELECT ${points} AS want) w
             WHERE left_points > 0)
     WHERE before < want AND (${onlyIf})
     ORDER BY ref DESC`;
}

/**
 * Debt repayment (economics.md "Ledger"): points that reach a member with debt repay the oldest
 * debt first. The source is the lot this transaction credited (its earn lot) or the lots it
 * restored onto; the first statement takes the repaid points back out of those lots (`repay`
 * movements: which issuer's points repaid), the second books them against the debts, oldest first.
 */
export function repayDebt(txnId: string, now: number, member: Sql, source: "earned_lot" | "restored"): Sql[] {
  const sourceRows =
    source === "earned_lot"
      ? sql`SELECT id AS lot_id, remaining AS avail, id AS ord FROM lots WHERE id = (SELECT lot_id FROM transactions WHERE id = ${txnId})`
      : // Points restored onto a lot already past its expiry never reach the member: they don't repay.
        sql`SELECT mv.lot_id, mv.points AS avail, -mv.n AS ord FROM lot_movements mv JOIN lots rl ON rl.id = mv.lot_id
             WHERE mv.txn_id = ${txnId} AND mv.kind = 'restore' AND rl.expires_at > ${now}`;
  return [
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, at)
      SELECT ${txnId}, ${numbered(sql`${txnId}`, raw("before"))}, lot_id, 'repay', MIN(avail, debt - before), issuer_id, issue_price_micros, ${now}
        FROM (SELECT src.lot_id, src.avail, l.issuer_id, l.issue_price_micros, m.debt_points AS debt,
                     COALESCE(SUM(src.avail) OVER (ORDER BY src.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                FROM (${sourceRows}) AS src JOIN lots l ON l.id = src.lot_id JOIN members m ON m.id = ${member}
               WHERE m.debt_points > 0 AND src.avail > 0)
       WHERE before < debt
       ORDER BY before`,
    sql`INSERT INTO debt_repayments (debt_id, txn_id, points, at)
      SELECT id, ${txnId}, MIN(outstanding, repaid - before), ${now}
        FROM (SELECT d.id, d.outstanding, ${moved(txnId, ["repay"])} AS repaid,
                     COALESCE(SUM(d.outstanding) OVER (ORDER BY d.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                FROM debts d WHERE d.member_id = ${member} AND d.outstanding > 0)
       WHERE before < repaid
       ORDER BY before`,
  ];
}
