import { firstGuard, guard } from "../db/guard";
import { raw, type Sql, sql } from "../db/sql-template";
import { captureReservations, covers, moved, numbered, releaseReservations, takeFromLots } from "./lots";
import { memberOfTransaction } from "./member";
import { insertTransaction, type NewTransaction, settleTime } from "./transactions";
import { account, transfersStatement } from "./transfers";

/**
 * Burns and holds (partner-api.md §5, economics.md "Ledger"). A posted burn consumes lots FIFO;
 * a hold (and a burn the risk rules send to review) reserves them; capture posts the reserved
 * points (all or part, the rest released), void releases them. Every step is one batch with its
 * guards; no read in JavaScript decides which lots move.
 */

export interface BurnPlan {
  txn: NewTransaction & { type: "burn" | "adjustment"; points: number };
  redeemerId: string;
  redeemPriceMicros: number;
  /** The risk rules' status decision, evaluated in the batch (held or review reserve; posted consumes). */
  status?: Sql;
}

/**
 * Expired holds of one member are voided at the start of every batch that touches the member, so
 * the batch sees the state its timestamp implies (§1 "Time-driven states"); the scheduled job
 * does the same for members nobody touches.
 */
export function voidExpiredHolds(member: Sql, now: number): Sql[] {
  return expiredHoldStatements(sql`h.member_id = ${member} AND h.status = 'held' AND h.expires_at <= ${now}`, now);
}

/** The job's variant: the `limit` soonest-expired holds of anyone. */
export function voidExpiredHoldsChunk(now: number, limit: number): Sql[] {
  return expiredHoldStatements(
    sql`h.id IN (SELECT id FROM transactions WHERE status = 'held' AND expires_at <= ${now} ORDER BY expires_at LIMIT ${limit})`,
    now,
  );
}

function expiredHoldStatements(expired: Sql, now: number): Sql[] {
  return [
    sql`INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, ref_n, at)
      SELECT r.txn_id, ${numbered(raw("h.id"), raw("r.n"), raw("h.id"))}, r.lot_id, 'release', r.points, r.issuer_id, r.issue_price_micros, r.n, ${now}
        FROM transactions h JOIN lot_movements r ON r.txn_id = h.id AND r.kind = 'reserve'
       WHERE ${expired} ORDER BY r.txn_id, r.n`,
    sql`INSERT INTO transfers (txn_id, n, from_account, to_account, points, at)
      SELECT h.id, (SELECT COALESCE(MAX(n), 0) + 1 FROM transfers WHERE txn_id = h.id), 'held:' || h.member_id,
             'member:' || h.member_id, h.points, ${now}
        FROM transactions h WHERE ${expired}`,
    sql`UPDATE transactions SET status = 'voided', decided_at = ${now} WHERE id IN (SELECT h.id FROM transactions h WHERE ${expired})`,
  ];
}

/**
 * A burn by points: guard that available covers it (available may not go below zero through
 * burns, invariant 3), then consume (posted) or reserve (held, review) FIFO, then the transfers.
 */
export function burnStatements(plan: BurnPlan): Sql[] {
  const { txn } = plan;
  const now = txn.bookedAt;
  const move = (kind: "consume" | "reserve", onlyIf?: Sql) =>
    takeFromLots({
      onlyIf,
      txnId: txn.id,
      now,
      points: txn.points,
      member: txn.member,
      kind,
      redeemerId: plan.redeemerId,
      redeemPriceMicros: plan.redeemPriceMicros,
    });
  const taken = moved(txn.id, ["consume", "reserve"]);
  const guards = [
    ...voidExpiredHolds(txn.member, now),
    insertTransaction(txn, plan.status),
    guard("insufficient_points", sql`NOT ${covers(txn.member, now, txn.points)}`),
  ];
  if (!plan.status) {
    // The status is the one planned: only its movement and its transfer.
    const posted = txn.status === "posted";
    return [
      ...guards,
      move(posted ? "consume" : "reserve"),
      transfersStatement(txn.id, now, account.member(txn.member), [
        { account: posted ? account.redeemed(plan.redeemerId) : account.held(txn.member), points: taken },
      ]),
    ];
  }
  // The risk rules decide the status in the batch: exactly one of the two applies.
  const status = sql`(SELECT status FROM transactions WHERE id = ${txn.id})`;
  const reserving = sql`${status} IN ('held', 'review')`;
  const consuming = sql`${status} = 'posted'`;
  return [
    ...guards,
    move("consume", consuming),
    move("reserve", reserving),
    transfersStatement(txn.id, now, account.member(txn.member), [
      { account: account.redeemed(plan.redeemerId), points: sql`CASE WHEN ${consuming} THEN ${taken} ELSE 0 END` },
      { account: account.held(txn.member), points: sql`CASE WHEN ${reserving} THEN ${taken} ELSE 0 END` },
    ]),
  ];
}

/** SQL condition: `holdId` is an open hold (held, not past its expiry) of this partner. */
function holdIsOpen(holdId: string, partnerId: string, now: number): Sql {
  return sql`EXISTS (SELECT 1 FROM transactions WHERE id = ${holdId} AND partner_id = ${partnerId} AND type = 'burn'
    AND status = 'held' AND expires_at > ${now})`;
}

/** The hold must be this partner's burn (else not found) and still open. */
function holdGuards(holdId: string, partnerId: string, now: number): Sql {
  return firstGuard([
    [
      "transaction_not_found",
      sql`NOT EXISTS (SELECT 1 FROM transactions WHERE id = ${holdId} AND partner_id = ${partnerId} AND type = 'burn')`,
    ],
    ["hold_not_open", sql`NOT ${holdIsOpen(holdId, partnerId, now)}`],
  ]);
}

/**
 * Capture `points` of an open hold (all when null). The hold's own transaction becomes posted
 * with `captured_points`; uncaptured points go back to their lots. Capturing more than is held
 * is refused by the `capture_exceeds_hold` guard (a 400: the request was wrong, not the state).
 */
export function captureStatements(holdId: string, partnerId: string, points: number | null, now: number): Sql[] {
  const member = memberOfTransaction(holdId);
  const want = points === null ? sql`(SELECT points FROM transactions WHERE id = ${holdId})` : sql`${points}`;
  return [
    ...voidExpiredHolds(member, now),
    holdGuards(holdId, partnerId, now),
    guard("capture_exceeds_hold", sql`${want} > (SELECT points FROM transactions WHERE id = ${holdId})`),
    ...captureReservations(holdId, now, want),
    transfersStatement(holdId, now, account.held(member), [
      { account: account.redeemed(partnerId), points: moved(holdId, ["capture"]) },
      { account: account.member(member), points: moved(holdId, ["release"]) },
    ]),
    sql`UPDATE transactions SET status = 'posted', captured_points = ${want}, decided_at = ${now},
          settled_at = COALESCE(settled_at, ${settleTime(now)})
        WHERE id = ${holdId}`,
  ];
}

/** Void an open hold: every reserved point goes back to its lot. */
export function voidStatements(holdId: string, partnerId: string, now: number): Sql[] {
  const member = memberOfTransaction(holdId);
  return [
    ...voidExpiredHolds(member, now),
    holdGuards(holdId, partnerId, now),
    releaseReservations(holdId, now),
    transfersStatement(holdId, now, account.held(member), [
      { account: account.member(member), points: moved(holdId, ["release"]) },
    ]),
    sql`UPDATE transactions SET status = 'voided', decided_at = ${now} WHERE id = ${holdId}`,
  ];
}
