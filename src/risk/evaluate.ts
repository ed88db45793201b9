import { cidrContains, ipSubjectKey, normalizedIp } from "./ip";
import type { CompiledRule, RiskAppliesTo, RiskRule, RuleSet } from "./rules";
import { type WindowSpec, windowSpec } from "./window";

/**
 * Which rules a request is checked against, and what each check is (pure; ./sql.ts turns the
 * result into statements of the request's own batch).
 *
 * A rule applies when it is for this kind of request (`applies_to`), global or for this partner,
 * the member is younger than `member_age_below_seconds` (when set; an enrolling member is 0 s
 * old), and the request has the rule's subject (a device rule needs a `device_id`). What is known
 * before the batch (a block list, one transaction's points) is decided here; windowed limits are
 * decided by SQL inside the batch, against counters the same batch updates.
 */

export interface RiskRequest {
  kind: RiskAppliesTo;
  partnerId: string;
  /**
   * now − member.created_at (ms); 0 for an enrolment; undefined when only the batch knows it (the
   * member is resolved there): a rule with `member_age_below_seconds` then applies on a condition
   * the SQL checks (`ApplicableRule.memberYoungerThanMs`).
   */
  memberAgeMs?: number;
  /** Whether the request is about a member (the subject of member rules, MEMBER_SUBJECT); not an enrolment. */
  hasMember: boolean;
  /** The transaction's points (0 for an enrolment). */
  points: number;
  /** `context.ip` as sent (validated). */
  ip: string;
  deviceId?: string;
  now: number;
}

/**
 * A counter: what is counted (`key`: kind, partner scope, subject kind, bucket size and age
 * condition; rules that count the same thing share it) for whom (`subject`).
 */
export interface CounterRef {
  key: string;
  subject: string;
  spec: WindowSpec;
}

export type Check =
  /** Decided before the batch: a block list match, one transaction over max_points. */
  | { type: "static"; trips: boolean }
  /** The window sum of `metric` (this request included) is above `max`. */
  | { type: "window"; counter: CounterRef; metric: "count" | "points" | "members"; max: number };

export interface ApplicableRule {
  position: number;
  rule: RiskRule;
  /** The rule trips when any of its checks does. */
  checks: Check[];
  /** Applies only to a member younger than this (ms), decided in the batch; undefined: unconditional. */
  memberYoungerThanMs?: number;
}

/** The subject key of member rules: the request's member, which the batch resolves (./sql.ts). */
export const MEMBER_SUBJECT = "\u0000member";

/** The counter key of a windowed rule: rules that count the same events share their counters. */
export function counterKey(rule: RiskRule): string {
  const spec = windowSpec(rule.window_seconds ?? 1);
  return [
    rule.applies_to,
    rule.partner_id ?? "*",
    rule.subject,
    `b${spec.bucketMs}`,
    `age${rule.member_age_below_seconds ?? "-"}`,
  ].join("|");
}

/** The subject key of `rule` for this request, or undefined when the request has no such subject. */
export function subjectKey(rule: RiskRule, req: RiskRequest): string | undefined {
  switch (rule.subject) {
    case "member":
      return req.hasMember ? MEMBER_SUBJECT : undefined;
    case "device":
      return req.deviceId;
    case "ip":
      return ipSubjectKey(req.ip);
    case "transaction":
      return "";
  }
}

export function ruleApplies(rule: RiskRule, req: RiskRequest): boolean {
  if (rule.applies_to !== req.kind) return false;
  if (rule.partner_id !== undefined && rule.partner_id !== req.partnerId) return false;
  const age = rule.member_age_below_seconds;
  if (age !== undefined && req.memberAgeMs !== undefined && req.memberAgeMs >= age * 1000) return false;
  return subjectKey(rule, req) !== undefined;
}

function blockTrips(compiled: CompiledRule, req: RiskRequest): boolean {
  if (compiled.devices) return req.deviceId !== undefined && compiled.devices.has(req.deviceId);
  if (compiled.cidrs) {
    const ip = normalizedIp(req.ip);
    return ip !== undefined && compiled.cidrs.some((c) => cidrContains(c, ip));
  }
  return false;
}

function checksOf(compiled: CompiledRule, req: RiskRequest): Check[] {
  const { rule } = compiled;
  if (rule.block !== undefined) return [{ type: "static", trips: blockTrips(compiled, req) }];
  if (rule.subject === "transaction")
    return [{ type: "static", trips: req.points > (rule.max_points ?? Number.POSITIVE_INFINITY) }];
  const subject = subjectKey(rule, req);
  if (subject === undefined || rule.window_seconds === undefined) return [];
  const counter: CounterRef = { key: counterKey(rule), subject, spec: windowSpec(rule.window_seconds) };
  const checks: Check[] = [];
  if (rule.max_count !== undefined) checks.push({ type: "window", counter, metric: "count", max: rule.max_count });
  if (rule.max_points !== undefined) checks.push({ type: "window", counter, metric: "points", max: rule.max_points });
  if (rule.max_distinct_members !== undefined) {
    checks.push({ type: "window", counter, metric: "members", max: rule.max_distinct_members });
  }
  return checks;
}

/**
 * The rules this request is checked against, in rule-set order, each with its checks. Rules that
 * cannot trip (every check decided as not tripping) are left out.
 */
export function applicableRules(set: RuleSet, req: RiskRequest): ApplicableRule[] {
  const out: ApplicableRule[] = [];
  for (const compiled of set.rules) {
    if (!ruleApplies(compiled.rule, req)) continue;
    const checks = checksOf(compiled, req).filter((c) => c.type === "window" || c.trips);
    if (checks.length === 0) continue;
    const age = compiled.rule.member_age_below_seconds;
    const conditional = age !== undefined && req.memberAgeMs === undefined;
    out.push({
      position: compiled.position,
      rule: compiled.rule,
      checks,
      ...(conditional ? { memberYoungerThanMs: age * 1000 } : {}),
    });
  }
  return out;
}

/** The counters the request updates (each once), and whether distinct members are tracked on them. */
export function countersOf(rules: readonly ApplicableRule[]): { counter: CounterRef; distinct: boolean }[] {
  const byId = new Map<string, { counter: CounterRef; distinct: boolean }>();
  for (const r of rules) {
    for (const c of r.checks) {
      if (c.type !== "window") continue;
      const id = `${c.counter.key}\u0000${c.counter.subject}`;
      const entry = byId.get(id) ?? { counter: c.counter, distinct: false };
      if (c.metric === "members") entry.distinct = true;
      byId.set(id, entry);
    }
  }
  return [...byId.values()];
}
