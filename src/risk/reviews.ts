import { guardStatement, guardViolated } from "../db/guard";
import { earnEffects } from "../ledger/earn";
import { coalitionSettings, lotExpiry } from "../ledger/expiry-policy";
import { captureReservations, movedSql, releaseReservations } from "../ledger/lots";
import { account, postingsStatement } from "../ledger/postings";
import { sqlTransactionObject } from "../ledger/render";
import { settlementAggregateStatements } from "../settlement/aggregates";

/**
 * Transactions the risk rules sent to review (economics.md "Ledger"): a review earn has no lot
 * and drew no funding (its points show as pending); a review burn reserved its lots (its points
 * show as held). The operator approves or rejects; a review not decided within the coalition's
 * `review_timeout_seconds` (7 days) is rejected by a scheduled job, and can no longer be approved.
 *
 * - approve an earn: what the earn would have written (funding guards and draw, lot, debt
 *   repayment, postings; src/ledger/earn.ts `earnEffects`), status `posted`, or `pending` until
 *   its `available_at` (booking time + the partner's pending days) when that is still ahead;
 * - approve a burn: every reserved point is captured (status `posted`); a hold
 *   (`capture: false`) becomes an open hold instead, its TTL counted from the approval;
 * - reject an earn: status `rejected`, nothing else; reject a burn: its reservations go back to
 *   their lots (status `voided`: §5 lists a burn's statuses as review, held, posted, voided).
 * Every decision is one batch whose first statement guards that the transaction is still in review.
 */

export interface ReviewRow {
  id: string;
  type: "earn" | "burn";
  status: string;
  partner_id: string;
  member_id: string;
  points: number;
  issue_price_micros: number | null;
  redeem_price_micros: number | null;
  booked_at: number;
  available_at: number | null;
  expires_at: number | null;
  risk_rule_id: string | null;
}

export async function getReviewTransaction(db: D1Database, id: string): Promise<ReviewRow | null> {
  return db
    .prepare(
      `SELECT id, type, status, partner_id, member_id, points, issue_price_micros, redeem_price_micros, booked_at, available_at,
              expires_at, risk_rule_id
         FROM transactions WHERE id = ?1 AND type IN ('earn', 'burn')`,
    )
    .bind(id)
    .first<ReviewRow>();
}

/** The review is open: in review and, for an approval, booked after `bookedAfter` (not timed out). */
function reviewOpenGuard(db: D1Database, id: string, bookedAfter: number): D1PreparedStatement {
  return guardStatement(
    db,
    "review_not_open",
    "NOT EXISTS (SELECT 1 FROM transactions WHERE id = ?1 AND status = 'review' AND booked_at > ?2)",
    id,
    bookedAfter,
  );
}

export interface ApproveContext {
  now: number;
  expiryMonths: number;
  reviewTimeoutSeconds: number;
  /** The partner's hold TTL, for a hold that leaves review. */
  holdTtlSeconds: number;
}

export function approveStatements(db: D1Database, row: ReviewRow, ctx: ApproveContext): D1PreparedStatement[] {
  const { now } = ctx;
  const guard = reviewOpenGuard(db, row.id, now - ctx.reviewTimeoutSeconds * 1000);
  if (row.type === "earn") {
    return [
      guard,
      db
        .prepare(
          `UPDATE transactions SET status = CASE WHEN available_at IS NOT NULL AND available_at > ?2 THEN 'pending' ELSE 'posted' END,
                  decided_at = ?2
            WHERE id = ?1 AND status = 'review'`,
        )
        .bind(row.id, now),
      ...earnEffects(db, {
        txn: {
          id: row.id,
          type: "earn",
          status: "posted",
          partnerId: row.partner_id,
          memberId: row.member_id,
          points: row.points,
          direction: 1,
          occurredAt: row.booked_at,
          bookedAt: now,
          availableAt: row.available_at,
        },
        issuerId: row.partner_id,
        issuePriceMicros: row.issue_price_micros ?? 0,
        lotExpiresAt: lotExpiry(row.booked_at, ctx.expiryMonths),
        drawFunding: true,
      }),
    ];
  }
  if (row.expires_at !== null) {
    // A hold (capture: false): now an open hold, for the partner's hold TTL from the approval.
    return [
      guard,
      db
        .prepare("UPDATE transactions SET status = 'held', expires_at = ?2 WHERE id = ?1 AND status = 'review'")
        .bind(row.id, now + ctx.holdTtlSeconds * 1000),
    ];
  }
  return [
    guard,
    ...captureReservations(db, row.id, now, row.points, row.redeem_price_micros ?? 0),
    postingsStatement(db, row.id, now, [
      { account: account.held(row.member_id), points: `-(${movedSql(["capture", "release"])})` },
      { account: account.redeemed(row.partner_id), points: movedSql(["capture"]) },
      { account: account.member(row.member_id), points: movedSql(["release"]) },
    ]),
    db
      .prepare("UPDATE transactions SET status = 'posted', decided_at = ?2 WHERE id = ?1 AND status = 'review'")
      .bind(row.id, now),
    ...settlementAggregateStatements(db, row.id, now),
  ];
}

export function rejectStatements(
  db: D1Database,
  row: Pick<ReviewRow, "id" | "type" | "member_id">,
  now: number,
): D1PreparedStatement[] {
  const guard = reviewOpenGuard(db, row.id, Number.MIN_SAFE_INTEGER);
  // A burn's statuses are review, held, posted or voided (partner-api.md §5): a rejected burn is
  // voided. An earn has no such list; a rejected earn is `rejected`.
  const reject = db
    .prepare("UPDATE transactions SET status = ?3, decided_at = ?2 WHERE id = ?1 AND status = 'review'")
    .bind(row.id, now, row.type === "burn" ? "voided" : "rejected");
  if (row.type === "earn") return [guard, reject];
  return [
    guard,
    releaseReservations(db, row.id, now),
    postingsStatement(db, row.id, now, [
      { account: account.held(row.member_id), points: `-(${movedSql(["release"])})` },
      { account: account.member(row.member_id), points: movedSql(["release"]) },
    ]),
    reject,
  ];
}

// ---- The operator's queue ----

export interface ReviewListRow {
  seq: number;
  booked_at: number;
  txn: string;
  risk_rule_id: string | null;
  context_ip: string | null;
  context_device: string | null;
}

/** Transactions in review, oldest first (a queue), keyset by (booked_at, seq). */
export async function listReviews(
  db: D1Database,
  opts: { now: number; limit: number; after?: { bookedAt: number; seq: number }; partnerId?: string; type?: "earn" | "burn" },
): Promise<ReviewListRow[]> {
  const result = await db
    .prepare(
      `SELECT t.seq, t.booked_at, ${sqlTransactionObject("t", "?1")} AS txn, t.risk_rule_id, t.context_ip, t.context_device
         FROM transactions t
        WHERE t.status = 'review' AND (?2 IS NULL OR (t.booked_at, t.seq) > (?2, ?3))
          AND (?4 IS NULL OR t.partner_id = ?4) AND (?5 IS NULL OR t.type = ?5)
        ORDER BY t.booked_at, t.seq LIMIT ?6`,
    )
    .bind(opts.now, opts.after?.bookedAt ?? null, opts.after?.seq ?? null, opts.partnerId ?? null, opts.type ?? null, opts.limit)
    .all<ReviewListRow>();
  return result.results;
}

// ---- The timeout job ----

/**
 * Rejects reviews older than the coalition's review timeout, oldest first, at most `max` per
 * run, one batch each (each guarded: one decided meanwhile is skipped, not rejected twice).
 */
export async function rejectTimedOutReviews(db: D1Database, now: number, max = 100): Promise<{ rejected: number }> {
  const settings = await coalitionSettings(db);
  const cutoff = now - settings.reviewTimeoutSeconds * 1000;
  const { results } = await db
    .prepare(
      `SELECT id, type, member_id FROM transactions WHERE status = 'review' AND booked_at <= ?1
        ORDER BY booked_at, seq LIMIT ?2`,
    )
    .bind(cutoff, max)
    .all<Pick<ReviewRow, "id" | "type" | "member_id">>();
  let rejected = 0;
  for (const row of results) {
    try {
      await db.batch(rejectStatements(db, row, now));
      rejected++;
    } catch (error) {
      if (guardViolated(error) !== "review_not_open") throw error;
    }
  }
  return { rejected };
}
