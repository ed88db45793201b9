import { type Sql, sql } from "../db/sql-template";
import type { ApiError } from "../http/errors";
import type { CommandContext } from "../http/runner";
import { type EnrolledMember, type EnrolmentRequest, enrolmentBatch } from "../members/store";
import type { RiskRequest } from "./evaluate";
import { type MainDecision, planRiskAcrossShards } from "./split";
import { declinedBy, declineEvent, planRisk, type RiskPlan, riskDeclinedError } from "./sql";

/**
 * Enrolment with the risk rules (partner-api.md §4, §6: bulk sign-ups from one device or IP).
 * The rules' statements go in front of the enrolment's own, in its one atomic batch, so 15
 * simultaneous sign-ups on one device under a limit of 3 let exactly 3 through.
 *
 * Only an enrolment that creates something is checked and counted: a new member, or a new link
 * with a usable link code. A retry of an existing link (200) is neither, and a bad link code
 * answers its own error. An enrolling member is 0 s old (`member_age_below_seconds` always
 * applies). A decline answers `422 risk_declined` (PUT has no Idempotency-Key, so nothing is
 * stored to replay; the same PUT is checked again) and is written to the risk event log.
 */
export interface EnrolmentPlan {
  statements: Sql[];
  outcome(results: D1Result[]): EnrolledMember;
  onFailure(error: unknown): { error: ApiError; statements: Sql[] } | undefined;
}

/** What the risk rules of an enrolment are about, and when it counts (see above). */
function enrolmentRisk(req: EnrolmentRequest): { riskReq: RiskRequest; member: Sql; onlyIf: Sql } {
  const riskReq: RiskRequest = {
    kind: "enroll",
    partnerId: req.partnerId,
    memberAgeMs: 0,
    hasMember: false,
    points: 0,
    ip: req.context.ip,
    ...(req.context.deviceId === undefined ? {} : { deviceId: req.context.deviceId }),
    now: req.now,
  };
  const linkMissing = sql`NOT EXISTS (SELECT 1 FROM member_links WHERE partner_id = ${req.partnerId} AND member_ref = ${req.memberRef})`;
  if (req.linkCode === undefined) return { riskReq, onlyIf: linkMissing, member: sql`${req.newMemberId}` };
  const code = req.linkCode;
  const onlyIf = sql`${linkMissing} AND EXISTS (SELECT 1 FROM link_codes c WHERE c.code = ${code} AND c.used_at IS NULL AND c.expires_at > ${req.now}
      AND NOT EXISTS (SELECT 1 FROM member_links l WHERE l.partner_id = ${req.partnerId} AND l.member_id = c.member_id))`;
  return { riskReq, onlyIf, member: sql`(SELECT member_id FROM link_codes WHERE code = ${code})` };
}

/** A decline of this enrolment: the 422 and its risk event (for the batch that stores it). */
function declineOf(
  plan: Pick<RiskPlan, "rules">,
  req: EnrolmentRequest,
  requestId: string,
  member: Sql,
): EnrolmentPlan["onFailure"] {
  return (error) => {
    const rule = declinedBy(plan, error);
    if (!rule) return undefined;
    const event = declineEvent(rule, {
      at: req.now,
      appliesTo: "enroll",
      partnerId: req.partnerId,
      member: req.linkCode === undefined ? sql`NULL` : member,
      memberRef: req.memberRef,
      points: null,
      ip: req.context.ip,
      deviceId: req.context.deviceId ?? null,
      requestId,
    });
    return { error: riskDeclinedError(rule), statements: [event] };
  };
}

export function planEnrolment(req: EnrolmentRequest, requestId: string, { catalogue }: CommandContext): EnrolmentPlan {
  const { riskReq, member, onlyIf } = enrolmentRisk(req);
  const plan = planRisk(catalogue.rules, riskReq, { member, onlyIf });
  const batch = enrolmentBatch(req);
  return {
    statements: [...plan.before, ...batch.statements],
    outcome: batch.outcome,
    onFailure: declineOf(plan, req, requestId, member),
  };
}

/**
 * Enrolment at N > 1 (./split.ts): bulk sign-ups per device or IP span every shard, so they are
 * counted and declined in main (`main`, round 1), and `shard(decision(results))` is the
 * enrolment's batch on the member's shard. Main cannot see the shard's links and link codes, so
 * it counts every enrolment it is given, even a retry that creates nothing or a bad link code
 * (strict; such a retry over the limit is declined where N = 1 answers 200). The member counted
 * as distinct is `memberKey` when the router knows it, else partner_id + member_ref (so a retry
 * counts the same member again, not a new one). `onFailure` reads an error of either batch; its
 * risk event statement is for the member's shard.
 */
export interface SplitEnrolmentPlan {
  main: Sql[];
  decision(mainResults: readonly D1Result[]): MainDecision;
  shard(decision: MainDecision): EnrolmentPlan;
  onFailure: EnrolmentPlan["onFailure"];
}

export function planEnrolmentAcrossShards(
  req: EnrolmentRequest,
  requestId: string,
  { catalogue }: CommandContext,
  known: { memberKey?: string | undefined } = {},
): SplitEnrolmentPlan {
  const { riskReq, member, onlyIf } = enrolmentRisk(req);
  const split = planRiskAcrossShards(catalogue.rules, riskReq, { member, onlyIf }, { memberRef: req.memberRef, ...known });
  const batch = enrolmentBatch(req);
  const onFailure = declineOf(split, req, requestId, member);
  return {
    main: split.main,
    decision: split.decision,
    shard: (decision) => ({
      statements: [...split.shard(decision).before, ...batch.statements],
      outcome: batch.outcome,
      onFailure,
    }),
    onFailure,
  };
}
