import { newId } from "../db/ids";
import { type EnrolledMember, type EnrolmentRequest, enrolmentBatch } from "../members/store";
import type { RiskRequest } from "./evaluate";
import { declinedBy, declineEventStatement, planRisk, riskDeclinedError, sqlText } from "./sql";
import { loadRuleSet } from "./store";

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
export async function enrolWithRisk(db: D1Database, req: EnrolmentRequest, requestId?: string): Promise<EnrolledMember> {
  const rules = await loadRuleSet(db);
  const newMemberId = req.linkCode === undefined ? (req.newMemberId ?? newId("mbr")) : undefined;
  const riskReq: RiskRequest = {
    kind: "enroll",
    partnerId: req.partnerId,
    memberAgeMs: 0,
    points: 0,
    ip: req.context.ip,
    ...(req.context.deviceId === undefined ? {} : { deviceId: req.context.deviceId }),
    now: req.now,
  };
  const partner = sqlText(req.partnerId);
  const linkMissing = `NOT EXISTS (SELECT 1 FROM member_links WHERE partner_id = ${partner} AND member_ref = ${sqlText(req.memberRef)})`;
  let onlyIf: string;
  let memberSql: string;
  if (req.linkCode === undefined) {
    onlyIf = linkMissing;
    memberSql = sqlText(newMemberId ?? "");
  } else {
    const code = sqlText(req.linkCode);
    onlyIf = `${linkMissing} AND EXISTS (SELECT 1 FROM link_codes c WHERE c.code = ${code} AND c.used_at IS NULL AND c.expires_at > ${Math.trunc(req.now)}
      AND NOT EXISTS (SELECT 1 FROM member_links l WHERE l.partner_id = ${partner} AND l.member_id = c.member_id))`;
    memberSql = `(SELECT member_id FROM link_codes WHERE code = ${code})`;
  }
  const plan = planRisk(db, rules, riskReq, { memberSql, onlyIf });
  const batch = enrolmentBatch(db, newMemberId === undefined ? req : { ...req, newMemberId });
  try {
    return batch.outcome(await db.batch([...plan.before, ...batch.statements]));
  } catch (error) {
    const rule = declinedBy(plan, error);
    if (!rule) throw error;
    const linked =
      req.linkCode === undefined
        ? null
        : await db.prepare("SELECT member_id FROM link_codes WHERE code = ?1").bind(req.linkCode).first<{ member_id: string }>();
    await declineEventStatement(db, rule, {
      at: req.now,
      appliesTo: "enroll",
      partnerId: req.partnerId,
      memberId: linked?.member_id ?? null,
      memberRef: req.memberRef,
      points: null,
      ip: req.context.ip,
      deviceId: req.context.deviceId ?? null,
      requestId: requestId ?? null,
    }).run();
    throw riskDeclinedError(rule);
  }
}
