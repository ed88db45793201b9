import { guardStatement } from "../db/guard";
import { settlementAggregateStatements } from "../settlement/aggregates";
import { AVAILABLE_SQL, captureReservations, movedSql, releaseReservations, takeFromLots } from "./lots";
import { account, postingsStatement } from "./postings";
import { insertTransaction, type NewTransaction } from "./transactions";

/**
 * Burns and holds (partner-api.md §5, economics.md "Ledger"). A posted burn consumes lots FIFO;
 * a hold (and a burn the risk rules send to review) reserves them; capture posts the reserved
 * points (all or part, the rest released), void releases them. Every step is one batch with its
 * guards; no read in JavaScript decides which lots move.
 */

export interface BurnPlan {
  txn: NewTransaction & { type: "burn" | "adjustment" };
  redeemerId: string;
  redeemPriceMicros: number;
  /** Risk rules' status decision, evaluated in the batch (held or review reserve; posted consumes). */
  statusSql?: string;
}

/**
 * Expired holds of one member are voided at the start of every batch that touches the member, so
 * the batch sees the state its timestamp implies (§1 "Time-driven states"); the scheduled job
 * does the same for members nobody touches. Binds ?1 member, ?2 now.
 */
export function voidExpiredHolds(db: D1Database, memberId: string, now: number): D1PreparedStatement[] {
  const expired = "h.member_id = ?1 AND h.status = 'held' AND h.expires_at <= ?2";
  return expiredHoldStatements(db, expired, [memberId, now]);
}

/** The job's variant: the `limit` soonest-expired holds of anyone. Binds ?1 limit, ?2 now. */
export function voidExpiredHoldsChunk(db: D1Database, now: number, limit: number): D1PreparedStatement[] {
  const expired = `h.id IN (SELECT id FROM transactions WHERE status = 'held' AND expires_at <= ?2 ORDER BY expires_at LIMIT ?1)`;
  return expiredHoldStatements(db, expired, [limit, now]);
}

function expiredHoldStatements(db: D1Database, expired: string, binds: [string | number, number]): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, ref_id, at)
         SELECT r.txn_id, r.lot_id, 'release', r.points, r.issuer_id, r.issue_price_micros, r.id, ?2
           FROM transactions h JOIN lot_movements r ON r.txn_id = h.id AND r.kind = 'reserve'
          WHERE ${expired} ORDER BY r.id`,
      )
      .bind(...binds),
    db
      .prepare(
        `INSERT INTO postings (txn_id, account, points, at)
         SELECT h.id, 'held:' || h.member_id, -h.points, ?2 FROM transactions h WHERE ${expired}
         UNION ALL
         SELECT h.id, 'member:' || h.member_id, h.points, ?2 FROM transactions h WHERE ${expired}`,
      )
      .bind(...binds),
    db
      .prepare(
        `UPDATE transactions SET status = 'voided', decided_at = ?2
          WHERE id IN (SELECT h.id FROM transactions h WHERE ${expired})`,
      )
      .bind(...binds),
  ];
}

/**
 * A burn by points: guard that available covers it (available may not go below zero through
 * burns, invariant 3), then consume (posted) or reserve (held, review) FIFO, then the postings.
 */
export function burnStatements(db: D1Database, plan: BurnPlan): D1PreparedStatement[] {
  const { txn } = plan;
  const now = txn.bookedAt;
  const reserving = "EXISTS (SELECT 1 FROM transactions WHERE id = ?1 AND status IN ('held', 'review'))";
  const consuming = "EXISTS (SELECT 1 FROM transactions WHERE id = ?1 AND status = 'posted')";
  const move = (kind: "consume" | "reserve", onlyIf: string) =>
    takeFromLots(db, {
      onlyIf,
      txnId: txn.id,
      now,
      points: txn.points,
      memberId: txn.memberId,
      kind,
      redeemerId: plan.redeemerId,
      redeemPriceMicros: plan.redeemPriceMicros,
    });
  return [
    ...voidExpiredHolds(db, txn.memberId, now),
    insertTransaction(db, txn, plan.statusSql),
    guardStatement(db, "insufficient_points", `${AVAILABLE_SQL} < ?3`, txn.memberId, now, txn.points),
    // Exactly one of the two applies, by the status the batch decided.
    move("consume", consuming),
    move("reserve", reserving),
    postingsStatement(db, txn.id, now, [
      { account: account.member(txn.memberId), points: `-${movedSql(["consume", "reserve"])}` },
      {
        account: account.redeemed(plan.redeemerId),
        points: `CASE WHEN ${consuming} THEN ${movedSql(["consume"])} ELSE 0 END`,
      },
      { account: account.held(txn.memberId), points: `CASE WHEN ${reserving} THEN ${movedSql(["reserve"])} ELSE 0 END` },
    ]),
    ...settlementAggregateStatements(db, txn.id, now),
  ];
}

/**
 * Capture `points` of an open hold (all when undefined). The hold's own transaction becomes
 * posted with `captured_points`; uncaptured points go back to their lots. Binds ?1 hold id.
 */
export function captureStatements(
  db: D1Database,
  hold: { id: string; memberId: string; partnerId: string; points: number; redeemPriceMicros: number },
  points: number,
  now: number,
): D1PreparedStatement[] {
  return [
    ...voidExpiredHolds(db, hold.memberId, now),
    holdOpenGuard(db, hold.id, now),
    ...captureReservations(db, hold.id, now, points, hold.redeemPriceMicros),
    postingsStatement(db, hold.id, now, [
      { account: account.held(hold.memberId), points: `-(${movedSql(["capture", "release"])})` },
      { account: account.redeemed(hold.partnerId), points: movedSql(["capture"]) },
      { account: account.member(hold.memberId), points: movedSql(["release"]) },
    ]),
    db
      .prepare("UPDATE transactions SET status = 'posted', captured_points = ?3, decided_at = ?2 WHERE id = ?1")
      .bind(hold.id, now, points),
    ...settlementAggregateStatements(db, hold.id, now),
  ];
}

/** Void an open hold: every reserved point goes back to its lot. */
export function voidStatements(db: D1Database, hold: { id: string; memberId: string }, now: number): D1PreparedStatement[] {
  return [
    ...voidExpiredHolds(db, hold.memberId, now),
    holdOpenGuard(db, hold.id, now),
    releaseReservations(db, hold.id, now),
    postingsStatement(db, hold.id, now, [
      { account: account.held(hold.memberId), points: `-(${movedSql(["release"])})` },
      { account: account.member(hold.memberId), points: movedSql(["release"]) },
    ]),
    db.prepare("UPDATE transactions SET status = 'voided', decided_at = ?2 WHERE id = ?1").bind(hold.id, now),
  ];
}

/** A hold is open while held and not past its expiry, whether or not a job voided it yet. */
function holdOpenGuard(db: D1Database, holdId: string, now: number): D1PreparedStatement {
  return guardStatement(
    db,
    "hold_not_open",
    "NOT EXISTS (SELECT 1 FROM transactions WHERE id = ?1 AND status = 'held' AND expires_at > ?2)",
    holdId,
    now,
  );
}
