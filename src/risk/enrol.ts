import { type Sql, sql } from "../db/sql-template";
import type { ApiError } from "../http/errors";
import type { CommandContext } from "../http/runner";
import { type EnrolledMember, type EnrolmentRequest, enrolmentBatch } from "../members/store";
import type { RiskRequest } from "./evaluate";
import { declinedBy, declineEvent, planRisk, riskDeclinedError } from "./sql";

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

export function planEnrolment(req: EnrolmentRequest, requestId: string, { catalogue }: CommandContext): EnrolmentPlan {
  const newMemberId = req.linkCode === undefined ? req.newMemberId : undefined;
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
  let onlyIf: Sql;
  let member: Sql;
  if (req.linkCode === undefined) {
    onlyIf = linkMissing;
    member = sql`${newMemberId ?? ""}`;
  } else {
    const code = req.linkCode;
    onlyIf = sql`${linkMissing} AND EXISTS (SELECT 1 FROM link_codes c WHERE c.code = ${code} AND c.used_at IS NULL AND c.expires_at > ${req.now}
      AND NOT EXISTS (SELECT 1 FROM member_links l WHERE l.partner_id = ${req.partnerId} AND l.member_id = c.member_id))`;
    member = sql`(SELECT member_id FROM link_codes WHERE code = ${code})`;
  }
  const plan = planRisk(catalogue.rules, riskReq, { member, onlyIf });
  const batch = enrolmentBatch(req);
  return {
    statements: [...plan.before, ...batch.statements],
    outcome: batch.outcome,
    onFailure(error) {
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
    },
  };
}
