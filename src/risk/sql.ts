import { join, raw, type Sql, sql } from "../db/sql-template";
import { ApiError } from "../http/errors";
import {
  type ApplicableRule,
  applicableRules,
  type Check,
  type CounterRef,
  countersOf,
  MEMBER_SUBJECT,
  type RiskRequest,
} from "./evaluate";
import { formatIp, normalizedIp } from "./ip";
import type { RiskRule, RuleSet } from "./rules";
import { bucketExpiresAt, bucketOf, windowBuckets } from "./window";

/**
 * The risk rules as statements of the batch they guard (operator-api.md "Risk rules"), so
 * concurrent requests cannot overshoot a limit: D1 runs each batch atomically and one at a time,
 * and a batch that declines rolls back, its counter increments included.
 *
 * In batch order:
 *  1. `before`: the counters of every windowed rule that applies are incremented (count, points;
 *     distinct members per device/IP), then ONE deny guard evaluates the deny rules in rule-set
 *     order and inserts the first tripped rule's position into `risk_guard`, whose CHECK
 *     constraint `risk_rule_<position>` aborts the batch. These go before the ledger's
 *     statements, so risk runs before the balance and funding checks.
 *  2. `status`: the transaction's status, `review` when a review rule trips.
 *  3. `after`: a transaction sent to review records its rule and a risk event.
 * Each window check reads at most BUCKETS_PER_WINDOW + 1 counter rows (./window.ts); distinct
 * members cost one lookup and up to three row writes. Nothing scans history. The member (the
 * subject of member rules, and its age) is SQL: the batch resolves it.
 *
 * That is the plan of one database (N = 1). At N > 1 a device or an IP is used by members of every
 * shard, so ./split.ts counts those windows in main's batch first and hands the shard's batch
 * what main decided; it builds both parts from the pieces below (`counterPart`, `denyGuard`,
 * `planOfRules`), so the statements stay the same SQL.
 */

export interface RiskPlanOptions {
  /** SQL of the member the request is about; may be NULL in SQL (then nothing is counted as a member). */
  member: Sql;
  /** SQL condition: the request is one to check at all (an enrolment that creates nothing is not). Default: always. */
  onlyIf?: Sql;
  /** SQL of the member's age in ms, for rules with `member_age_below_seconds` decided in the batch. */
  memberAge?: Sql;
}

export interface RiskPlan {
  /** The rules the request was checked against (rule-set order). */
  rules: readonly ApplicableRule[];
  /** Statements to put before the write they guard: the counters, then the deny guard. */
  before: Sql[];
  /** The transaction's status: `review` when a review rule trips, else `planned`. Undefined when no review rule applies. */
  status(planned: string): Sql | undefined;
  /** Statements after the transaction's insert: the review's rule and event. */
  after(txnId: string, event: RiskEventContext): Sql[];
}

/** What a risk event records about the request, besides the rule and the transaction. */
export interface RiskEventContext {
  at: number;
  appliesTo: RiskRequest["kind"];
  partnerId: string;
  member?: Sql;
  memberRef?: string | null;
  points?: number | null;
  ip: string;
  deviceId?: string | null;
  requestId?: string | null;
}

function subjectSql(subject: string, o: RiskPlanOptions): Sql {
  return subject === MEMBER_SUBJECT ? o.member : sql`${subject}`;
}

/** SQL condition under which a rule (or its counter) applies at all: the member's age, when the batch decides it. */
function ruleCondition(rule: Pick<ApplicableRule, "memberYoungerThanMs">, o: RiskPlanOptions): Sql {
  if (rule.memberYoungerThanMs === undefined) return raw("1");
  if (!o.memberAge) throw new Error("a rule on the member's age needs the member's age");
  return sql`(${o.memberAge} < ${rule.memberYoungerThanMs})`;
}

/** The window sum of one check's metric, this request's increments included. */
function windowSum(check: Extract<Check, { type: "window" }>, now: number, o: RiskPlanOptions): Sql {
  const { first, last } = windowBuckets(check.counter.spec, now);
  return sql`(SELECT COALESCE(SUM(${raw(check.metric)}), 0) FROM risk_counters
     WHERE counter = ${check.counter.key} AND subject = ${subjectSql(check.counter.subject, o)}
       AND bucket BETWEEN ${first} AND ${last})`;
}

/** SQL boolean: the rule trips (any of its checks, under its condition). */
export function ruleTrips(rule: ApplicableRule, now: number, o: RiskPlanOptions): Sql {
  const parts = rule.checks.map((c) =>
    c.type === "static" ? raw(c.trips ? "1" : "0") : sql`${windowSum(c, now, o)} > ${c.max}`,
  );
  const any =
    parts.length === 0
      ? raw("0")
      : join(
          parts.map((p) => sql`(${p})`),
          " OR ",
        );
  return sql`(${ruleCondition(rule, o)} AND (${any}))`;
}

function counterStatements(counter: CounterRef, distinct: boolean, condition: Sql, req: RiskRequest, o: RiskPlanOptions): Sql[] {
  const onlyIf = sql`${o.onlyIf ?? raw("1")} AND ${condition}`;
  const bucket = bucketOf(counter.spec, req.now);
  const expires = bucketExpiresAt(counter.spec, bucket);
  const k = counter.key;
  const s = subjectSql(counter.subject, o);
  const out = [
    sql`INSERT INTO risk_counters (counter, subject, bucket, count, points, members, expires_at)
      SELECT ${k}, ${s}, ${bucket}, 1, ${req.points}, 0, ${expires} WHERE ${s} IS NOT NULL AND ${onlyIf}
      ON CONFLICT (counter, subject, bucket) DO UPDATE SET count = count + 1, points = points + excluded.points`,
  ];
  if (!distinct) return out;
  // The member is counted once, in the bucket of its latest touch: moved out of an older bucket, into this one.
  const m = o.member;
  return [
    ...out,
    sql`UPDATE risk_counters SET members = members - 1
      WHERE counter = ${k} AND subject = ${s} AND ${onlyIf}
        AND bucket = (SELECT bucket FROM risk_members WHERE counter = ${k} AND subject = ${s} AND member_id = ${m} AND bucket < ${bucket})`,
    sql`INSERT INTO risk_counters (counter, subject, bucket, count, points, members, expires_at)
      SELECT ${k}, ${s}, ${bucket}, 0, 0, 1, ${expires}
       WHERE ${m} IS NOT NULL AND ${onlyIf}
         AND NOT EXISTS (SELECT 1 FROM risk_members WHERE counter = ${k} AND subject = ${s} AND member_id = ${m} AND bucket = ${bucket})
      ON CONFLICT (counter, subject, bucket) DO UPDATE SET members = members + 1`,
    sql`INSERT INTO risk_members (counter, subject, member_id, bucket, expires_at)
      SELECT ${k}, ${s}, ${m}, ${bucket}, ${expires} WHERE ${m} IS NOT NULL AND ${onlyIf}
      ON CONFLICT (counter, subject, member_id) DO UPDATE SET bucket = excluded.bucket, expires_at = excluded.expires_at`,
  ];
}

/** Builds the risk statements of one request. With no rule that can trip, every part is empty. */
export function planRisk(set: RuleSet, req: RiskRequest, o: RiskPlanOptions): RiskPlan {
  return planOfRules(applicableRules(set, req), req, o);
}

/** The counters of these rules, each incremented once (under its rule's age condition, if any). */
export function counterPart(rules: readonly ApplicableRule[], req: RiskRequest, o: RiskPlanOptions): Sql[] {
  const out: Sql[] = [];
  for (const { counter, distinct } of countersOf(rules)) {
    // Rules that share a counter share its key, age condition included.
    const owner = rules.find((r) => r.checks.some((c) => c.type === "window" && c.counter.key === counter.key));
    out.push(...counterStatements(counter, distinct, owner ? ruleCondition(owner, o) : raw("1"), req, o));
  }
  return out;
}

/** ONE statement that aborts the batch naming the first of these deny rules that trips; none without deny rules. */
export function denyGuard(rules: readonly ApplicableRule[], req: RiskRequest, o: RiskPlanOptions): Sql[] {
  const deny = rules.filter((r) => r.rule.action === "deny");
  if (deny.length === 0) return [];
  const cases = join(
    deny.map((r) => sql`WHEN ${ruleTrips(r, req.now, o)} THEN ${r.position}`),
    " ",
  );
  return [
    sql`INSERT INTO risk_guard (slot) SELECT slot FROM (SELECT CASE ${cases} END AS slot) WHERE slot IS NOT NULL AND ${o.onlyIf ?? raw("1")}`,
  ];
}

/** The plan of these applicable rules (rule-set order): the shard's part of a split plan (./split.ts) is one too. */
export function planOfRules(rules: readonly ApplicableRule[], req: RiskRequest, o: RiskPlanOptions): RiskPlan {
  const before = [...counterPart(rules, req, o), ...denyGuard(rules, req, o)];
  const review = rules.filter((r) => r.rule.action === "review");
  const status = (planned: string) =>
    review.length === 0
      ? undefined
      : sql`CASE WHEN ${join(
          review.map((r) => ruleTrips(r, req.now, o)),
          " OR ",
        )} THEN 'review' ELSE ${planned} END`;
  const after = (txnId: string, event: RiskEventContext): Sql[] => {
    if (review.length === 0) return [];
    const which = join(
      review.map((r) => sql`WHEN ${ruleTrips(r, req.now, o)} THEN ${r.rule.id}`),
      " ",
    );
    return [
      sql`UPDATE transactions SET risk_rule_id = CASE ${which} END WHERE id = ${txnId} AND status = 'review'`,
      sql`INSERT INTO risk_events (at, rule_id, action, applies_to, partner_id, member_id, member_ref, transaction_id, points, ip,
          device_id, request_id)
        SELECT ${event.at}, risk_rule_id, 'review', ${event.appliesTo}, partner_id, member_id, ${event.memberRef ?? null}, id, points,
               ${eventIp(event.ip)}, ${event.deviceId ?? null}, ${event.requestId ?? null}
          FROM transactions WHERE id = ${txnId} AND status = 'review'`,
    ];
  };
  return { rules, before, status, after };
}

/** The deny rule whose guard aborted a batch of this plan, or undefined for any other failure. */
export function declinedBy(plan: Pick<RiskPlan, "rules">, error: unknown): RiskRule | undefined {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  const match = /CHECK constraint failed: risk_rule_(\d+)\b/.exec(message);
  if (!match) return undefined;
  const position = Number(match[1]);
  return plan.rules.find((r) => r.position === position && r.rule.action === "deny")?.rule;
}

function eventIp(ip: string): string {
  const parsed = normalizedIp(ip);
  return parsed ? formatIp(parsed) : ip;
}

/** A decline's entry in the risk event log. */
export function declineEvent(rule: RiskRule, event: RiskEventContext): Sql {
  return sql`INSERT INTO risk_events (at, rule_id, action, applies_to, partner_id, member_id, member_ref, transaction_id, points, ip,
      device_id, request_id)
    VALUES (${event.at}, ${rule.id}, 'deny', ${event.appliesTo}, ${event.partnerId}, ${event.member ?? null}, ${event.memberRef ?? null},
            NULL, ${event.points ?? null}, ${eventIp(event.ip)}, ${event.deviceId ?? null}, ${event.requestId ?? null})`;
}

export function riskDeclinedError(rule: RiskRule): ApiError {
  return ApiError.riskDeclined(rule.id, `declined by the risk rule ${rule.id}`);
}

/**
 * For `WritePlan.onFailure` (src/http/runner.ts): a batch aborted by this plan's deny guard
 * becomes the stored `422 risk_declined`, committed with its risk event.
 */
export function riskFailure(
  plan: Pick<RiskPlan, "rules">,
  event: RiskEventContext,
): (error: unknown) => { error: ApiError; statements: Sql[] } | undefined {
  return (error) => {
    const rule = declinedBy(plan, error);
    return rule ? { error: riskDeclinedError(rule), statements: [declineEvent(rule, event)] } : undefined;
  };
}
