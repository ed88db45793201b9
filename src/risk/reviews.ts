import { auditStatement } from "../audit/log";
import { guard, guardViolated } from "../db/guard";
import { all, first, raw, runBatch, type Sql, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { ApiError } from "../http/errors";
import type { CommandContext, WritePlan } from "../http/runner";
import { earnEffects } from "../ledger/earn";
import { coalitionSettings, lotExpiry } from "../ledger/expiry-policy";
import type { FundingPlacement } from "../ledger/funding";
import { earnDrawMicros, newFundingDrawId, reserveFunding } from "../ledger/funding-reservations";
import { captureReservations, moved, releaseReservations } from "../ledger/lots";
import { memberById } from "../ledger/member";
import { transactionJson, transactionObject } from "../ledger/render";
import { settleTime } from "../ledger/transactions";
import { account, transfersStatement } from "../ledger/transfers";

/**
 * Transactions the risk rules sent to review (economics.md "Ledger"): a review earn has no lot
 * and drew no funding (its points show as pending); a review burn reserved its lots (its points
 * show as held). The operator approves or rejects; a review not decided within the coalition's
 * `review_timeout_seconds` (7 days) is rejected by a scheduled job, and can no longer be approved.
 *
 * - approve an earn: what the earn would have written (funding guards and draw, lot, debt
 *   repayment, transfers; src/ledger/earn.ts `earnEffects`), status `posted`, or `pending` until
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
  return first<ReviewRow>(
    db,
    sql`SELECT id, type, status, partner_id, member_id, points, issue_price_micros, redeem_price_micros, booked_at, available_at,
               expires_at, risk_rule_id
          FROM transactions WHERE id = ${id} AND type IN ('earn', 'burn')`,
  );
}

/** The review is open: in review and, for an approval, booked after `bookedAfter` (not timed out). */
function reviewOpenGuard(id: string, bookedAfter: number): Sql {
  return guard(
    "review_not_open",
    sql`NOT EXISTS (SELECT 1 FROM transactions WHERE id = ${id} AND status = 'review' AND booked_at > ${bookedAfter})`,
  );
}

export interface ApproveContext {
  now: number;
  expiryMonths: number;
  reviewTimeoutSeconds: number;
  /** The partner's hold TTL, for a hold that leaves review. */
  holdTtlSeconds: number;
  /**
   * Where an approved earn draws its funding (src/ledger/funding.ts): in this batch (the default),
   * or, on a shard, a reservation made on main first under `fundingDrawId`: never the earn's own
   * id, whose draw record the release after the earn went to review has already cancelled.
   */
  funding?: FundingPlacement;
  fundingDrawId?: string;
}

export function approveStatements(row: ReviewRow, ctx: ApproveContext): Sql[] {
  const { now } = ctx;
  const open = reviewOpenGuard(row.id, now - ctx.reviewTimeoutSeconds * 1000);
  const member = memberById(row.member_id);
  if (row.type === "earn") {
    if (ctx.funding === "reserved" && (ctx.fundingDrawId === undefined || ctx.fundingDrawId === row.id)) {
      throw new Error("a reserved approval draws under its own draw id (newFundingDrawId), not the earn's");
    }
    return [
      open,
      // Out of review: the earn names its lot now and settles now.
      sql`UPDATE transactions SET status = CASE WHEN available_at IS NOT NULL AND available_at > ${now} THEN 'pending' ELSE 'posted' END,
            decided_at = ${now}, lot_id = (SELECT COALESCE(MAX(id), 0) + 1 FROM lots), settled_at = ${settleTime(now)}
          WHERE id = ${row.id} AND status = 'review'`,
      ...earnEffects({
        txn: {
          id: row.id,
          type: "earn",
          status: "posted",
          partnerId: row.partner_id,
          member,
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
        ...(ctx.funding === undefined ? {} : { funding: ctx.funding, fundingDrawId: ctx.fundingDrawId }),
      }),
    ];
  }
  if (row.expires_at !== null) {
    // A hold (capture: false): now an open hold, for the partner's hold TTL from the approval.
    return [
      open,
      sql`UPDATE transactions SET status = 'held', expires_at = ${now + ctx.holdTtlSeconds * 1000} WHERE id = ${row.id} AND status = 'review'`,
    ];
  }
  return [
    open,
    ...captureReservations(row.id, now, sql`${row.points}`),
    transfersStatement(row.id, now, account.held(member), [
      { account: account.redeemed(row.partner_id), points: moved(row.id, ["capture"]) },
      { account: account.member(member), points: moved(row.id, ["release"]) },
    ]),
    sql`UPDATE transactions SET status = 'posted', decided_at = ${now}, settled_at = ${settleTime(now)}
        WHERE id = ${row.id} AND status = 'review'`,
  ];
}

export function rejectStatements(row: Pick<ReviewRow, "id" | "type" | "member_id">, now: number): Sql[] {
  const open = reviewOpenGuard(row.id, Number.MIN_SAFE_INTEGER);
  // A burn's statuses are review, held, posted or voided (partner-api.md §5): a rejected burn is
  // voided. An earn has no such list; a rejected earn is `rejected`.
  const reject = sql`UPDATE transactions SET status = ${row.type === "burn" ? "voided" : "rejected"}, decided_at = ${now}
    WHERE id = ${row.id} AND status = 'review'`;
  if (row.type === "earn") return [open, reject];
  const member = memberById(row.member_id);
  return [
    open,
    releaseReservations(row.id, now),
    transfersStatement(row.id, now, account.held(member), [
      { account: account.member(member), points: moved(row.id, ["release"]) },
    ]),
    reject,
  ];
}

// ---- The operator's decision ----

export interface ReviewDecision {
  transactionId: string;
  decision: "approve" | "reject";
  actor: string;
}

/** `POST /admin/v1/reviews/{transaction_id}`: reads the transaction, then plans the decision's one batch, audited. */
export async function planReviewDecision(
  db: D1Database,
  input: ReviewDecision,
  { catalogue, now, split, shard }: CommandContext,
): Promise<WritePlan> {
  const row = await getReviewTransaction(db, input.transactionId);
  if (!row) throw new ApiError("review_not_found", `no earn or burn ${input.transactionId}`, "transaction_id");
  const settings = catalogue.settings;
  const timedOut = row.booked_at <= now - settings.reviewTimeoutSeconds * 1000;
  if (row.status !== "review" || (input.decision === "approve" && timedOut)) {
    const why =
      row.status === "review"
        ? "this review timed out; it can only be rejected"
        : `this transaction is not in review (${row.status})`;
    throw new ApiError("review_not_open", why);
  }
  // An approved earn on a shard other than main draws on a reservation made in main first, under its own key.
  const drawId = split && input.decision === "approve" && row.type === "earn" ? newFundingDrawId() : undefined;
  const statements =
    input.decision === "approve"
      ? approveStatements(row, {
          now,
          expiryMonths: settings.expiryMonths,
          reviewTimeoutSeconds: settings.reviewTimeoutSeconds,
          holdTtlSeconds: catalogue.partners.get(row.partner_id)?.holdTtlSeconds ?? 900,
          ...(drawId === undefined ? {} : { funding: "reserved" as const, fundingDrawId: drawId }),
        })
      : rejectStatements(row, now);
  const detail = {
    type: row.type,
    points: row.points,
    member_id: row.member_id,
    partner_id: row.partner_id,
    rule_id: row.risk_rule_id,
  };
  statements.push(auditStatement({ at: now, actor: input.actor, action: `review.${input.decision}`, target: row.id, detail }));
  const plan: WritePlan = { status: 200, statements, response: transactionJson(row.id, now) };
  if (drawId === undefined) return plan;
  const micros = earnDrawMicros(row.points, row.issue_price_micros ?? 0);
  const reserve = reserveFunding({ txnId: drawId, partnerId: row.partner_id, micros, shard, now });
  return { ...plan, roundOne: { statements: reserve, after: () => ({ statements }), reservation: drawId } };
}

// ---- The operator's queue ----

export interface ReviewListRow {
  id: string;
  booked_at: number;
  txn: string;
  risk_rule_id: string | null;
  context_ip: string | null;
  context_device: string | null;
}

/** A review as the queue shows it: decided by the coalition's review timeout after its booking. */
export function renderReview(row: ReviewListRow, reviewTimeoutSeconds: number) {
  return {
    transaction: JSON.parse(row.txn) as Record<string, unknown>,
    rule_id: row.risk_rule_id,
    context: { ip: row.context_ip, ...(row.context_device === null ? {} : { device_id: row.context_device }) },
    decide_by: toRfc3339(row.booked_at + reviewTimeoutSeconds * 1000),
  };
}

/** Transactions in review, oldest first (a queue), keyset by (booked_at, id). */
export async function listReviews(
  db: D1Database,
  opts: { now: number; limit: number; after?: { bookedAt: number; id: string }; partnerId?: string; type?: "earn" | "burn" },
): Promise<ReviewListRow[]> {
  const after = opts.after
    ? sql`AND (t.booked_at > ${opts.after.bookedAt} OR (t.booked_at = ${opts.after.bookedAt} AND t.id > ${opts.after.id}))`
    : raw("");
  const partner = opts.partnerId === undefined ? raw("") : sql`AND t.partner_id = ${opts.partnerId}`;
  const type = opts.type === undefined ? raw("") : sql`AND t.type = ${opts.type}`;
  return all<ReviewListRow>(
    db,
    sql`SELECT t.id, t.booked_at, ${transactionObject("t", opts.now)} AS txn, t.risk_rule_id, t.context_ip, t.context_device
          FROM transactions t
         WHERE t.status = 'review' ${after} ${partner} ${type}
         ORDER BY t.booked_at, t.id LIMIT ${opts.limit}`,
  );
}

// ---- The timeout job ----

/**
 * Rejects reviews older than the coalition's review timeout, oldest first, at most `max` per
 * run, one batch each (each guarded: one decided meanwhile is skipped, not rejected twice).
 */
export async function rejectTimedOutReviews(db: D1Database, now: number, max = 100): Promise<{ rejected: number }> {
  const settings = await coalitionSettings(db);
  const cutoff = now - settings.reviewTimeoutSeconds * 1000;
  const due = await all<Pick<ReviewRow, "id" | "type" | "member_id">>(
    db,
    sql`SELECT id, type, member_id FROM transactions WHERE status = 'review' AND booked_at <= ${cutoff}
         ORDER BY booked_at, id LIMIT ${max}`,
  );
  let rejected = 0;
  for (const row of due) {
    try {
      await runBatch(db, rejectStatements(row, now));
      rejected++;
    } catch (error) {
      if (guardViolated(error) !== "review_not_open") throw error;
    }
  }
  return { rejected };
}
