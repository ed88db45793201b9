import { ApiError } from "../http/errors";
import { type ApplicableRule, applicableRules, type Check, countersOf, type RiskRequest } from "./evaluate";
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
 *  2. `statusSql`: the transaction's status, `review` when a review rule trips.
 *  3. `after`: a transaction sent to review records its rule and a risk event.
 * Each window check reads at most BUCKETS_PER_WINDOW + 1 counter rows (./window.ts); distinct
 * members cost one lookup and up to three row writes. Nothing scans history.
 *
 * Values are inlined as SQL literals (numbers are integers; strings via `sqlText`), because the
 * status expression lives inside the ledger's INSERT, whose parameters are taken.
 */

/** A SQL literal for any string: quoted when printable ASCII, else a hex blob cast to TEXT. */
export function sqlText(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return `'${s.replaceAll("'", "''")}'`;
  const hex = Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");
  return `CAST(X'${hex}' AS TEXT)`;
}

function sqlInteger(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an exact integer: ${n}`);
  return String(n);
}

/** The window sum of one check's metric, this request's increments included. */
function windowSumSql(check: Extract<Check, { type: "window" }>, now: number): string {
  const { first, last } = windowBuckets(check.counter.spec, now);
  return `(SELECT COALESCE(SUM(${check.metric}), 0) FROM risk_counters
     WHERE counter = ${sqlText(check.counter.key)} AND subject = ${sqlText(check.counter.subject)}
       AND bucket BETWEEN ${sqlInteger(first)} AND ${sqlInteger(last)})`;
}

/** SQL boolean: the rule trips (any of its checks). */
export function ruleTripsSql(rule: ApplicableRule, now: number): string {
  const parts = rule.checks.map((c) =>
    c.type === "static" ? (c.trips ? "1" : "0") : `${windowSumSql(c, now)} > ${sqlInteger(c.max)}`,
  );
  return parts.length === 0 ? "0" : parts.map((p) => `(${p})`).join(" OR ");
}

export interface RiskPlanOptions {
  /** SQL expression of the member the request is about (distinct-member counting); may be NULL in SQL (then nothing is counted as a member). */
  memberSql: string;
  /** SQL condition: the request is one to check at all (an enrolment that creates nothing is not). Default: always. */
  onlyIf?: string;
}

export interface RiskPlan {
  /** The rules the request was checked against (rule-set order). */
  rules: readonly ApplicableRule[];
  /** Statements to put before the write they guard: the counters, then the deny guard. */
  before: D1PreparedStatement[];
  /** For `insertTransaction`: `review` when a review rule trips, else the planned status (?4). Undefined when no review rule applies. */
  statusSql: string | undefined;
  /** Statements after the transaction's insert (binds ?1 = its id): the review's rule and event. */
  after(txnId: string, event: RiskEventContext): D1PreparedStatement[];
}

/** What a risk event records about the request, besides the rule and the transaction. */
export interface RiskEventContext {
  at: number;
  appliesTo: RiskRequest["kind"];
  partnerId: string;
  memberId?: string | null;
  memberRef?: string | null;
  points?: number | null;
  ip: string;
  deviceId?: string | null;
  requestId?: string | null;
}

/** Builds the risk statements of one request. With no rule that can trip, every part is empty. */
export function planRisk(db: D1Database, set: RuleSet, req: RiskRequest, opts: RiskPlanOptions): RiskPlan {
  const rules = applicableRules(set, req);
  const onlyIf = opts.onlyIf ?? "1";
  const before: D1PreparedStatement[] = [];
  const counters = countersOf(rules);

  if (counters.length > 0) {
    const rows = counters.map(({ counter }) => {
      const bucket = bucketOf(counter.spec, req.now);
      return `(${sqlText(counter.key)}, ${sqlText(counter.subject)}, ${sqlInteger(bucket)}, ${sqlInteger(bucketExpiresAt(counter.spec, bucket))})`;
    });
    before.push(
      db.prepare(
        `INSERT INTO risk_counters (counter, subject, bucket, count, points, members, expires_at)
         SELECT column1, column2, column3, 1, ${sqlInteger(req.points)}, 0, column4 FROM (VALUES ${rows.join(", ")}) WHERE ${onlyIf}
         ON CONFLICT (counter, subject, bucket) DO UPDATE SET count = count + 1, points = points + excluded.points`,
      ),
    );
  }
  for (const { counter, distinct } of counters) {
    if (!distinct) continue;
    // The member is counted once, in the bucket of its latest touch: moved out of an older bucket, into this one.
    const bucket = bucketOf(counter.spec, req.now);
    const k = sqlText(counter.key);
    const s = sqlText(counter.subject);
    const m = opts.memberSql;
    const b = sqlInteger(bucket);
    const exp = sqlInteger(bucketExpiresAt(counter.spec, bucket));
    before.push(
      db.prepare(
        `UPDATE risk_counters SET members = members - 1
          WHERE counter = ${k} AND subject = ${s} AND ${onlyIf}
            AND bucket = (SELECT bucket FROM risk_members WHERE counter = ${k} AND subject = ${s} AND member_id = ${m} AND bucket < ${b})`,
      ),
      db.prepare(
        `INSERT INTO risk_counters (counter, subject, bucket, count, points, members, expires_at)
         SELECT ${k}, ${s}, ${b}, 0, 0, 1, ${exp}
          WHERE ${m} IS NOT NULL AND ${onlyIf}
            AND NOT EXISTS (SELECT 1 FROM risk_members WHERE counter = ${k} AND subject = ${s} AND member_id = ${m} AND bucket = ${b})
         ON CONFLICT (counter, subject, bucket) DO UPDATE SET members = members + 1`,
      ),
      db.prepare(
        `INSERT INTO risk_members (counter, subject, member_id, bucket, expires_at)
         SELECT ${k}, ${s}, ${m}, ${b}, ${exp} WHERE ${m} IS NOT NULL AND ${onlyIf}
         ON CONFLICT (counter, subject, member_id) DO UPDATE SET bucket = excluded.bucket, expires_at = excluded.expires_at`,
      ),
    );
  }

  const deny = rules.filter((r) => r.rule.action === "deny");
  if (deny.length > 0) {
    const cases = deny.map((r) => `WHEN ${ruleTripsSql(r, req.now)} THEN ${sqlInteger(r.position)}`).join(" ");
    before.push(
      db.prepare(
        `INSERT INTO risk_guard (slot) SELECT slot FROM (SELECT CASE ${cases} END AS slot) WHERE slot IS NOT NULL AND ${onlyIf}`,
      ),
    );
  }

  const review = rules.filter((r) => r.rule.action === "review");
  const statusSql =
    review.length === 0
      ? undefined
      : `CASE WHEN ${review.map((r) => `(${ruleTripsSql(r, req.now)})`).join(" OR ")} THEN 'review' ELSE ?4 END`;
  const after = (txnId: string, event: RiskEventContext): D1PreparedStatement[] => {
    if (review.length === 0) return [];
    const which = review.map((r) => `WHEN ${ruleTripsSql(r, req.now)} THEN ${sqlText(r.rule.id)}`).join(" ");
    return [
      db.prepare(`UPDATE transactions SET risk_rule_id = CASE ${which} END WHERE id = ?1 AND status = 'review'`).bind(txnId),
      db
        .prepare(
          `INSERT INTO risk_events (at, rule_id, action, applies_to, partner_id, member_id, member_ref, transaction_id, points, ip, device_id, request_id)
           SELECT ?2, risk_rule_id, 'review', ?3, partner_id, member_id, ?4, id, points, ?5, ?6, ?7
             FROM transactions WHERE id = ?1 AND status = 'review'`,
        )
        .bind(
          txnId,
          event.at,
          event.appliesTo,
          event.memberRef ?? null,
          eventIp(event.ip),
          event.deviceId ?? null,
          event.requestId ?? null,
        ),
    ];
  };
  return { rules, before, statusSql, after };
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
export function declineEventStatement(db: D1Database, rule: RiskRule, event: RiskEventContext): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO risk_events (at, rule_id, action, applies_to, partner_id, member_id, member_ref, transaction_id, points, ip, device_id, request_id)
       VALUES (?1, ?2, 'deny', ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10)`,
    )
    .bind(
      event.at,
      rule.id,
      event.appliesTo,
      event.partnerId,
      event.memberId ?? null,
      event.memberRef ?? null,
      event.points ?? null,
      eventIp(event.ip),
      event.deviceId ?? null,
      event.requestId ?? null,
    );
}

export function riskDeclinedError(rule: RiskRule): ApiError {
  return ApiError.riskDeclined(rule.id, `declined by the risk rule ${rule.id}`);
}

/**
 * For `Outcome.onCommitError` (src/http/idempotency.ts): a batch aborted by this plan's deny guard
 * becomes the stored `422 risk_declined`, committed with its risk event.
 */
export function riskCommitError(
  db: D1Database,
  plan: Pick<RiskPlan, "rules">,
  event: RiskEventContext,
): (error: unknown) => { error: ApiError; statements: D1PreparedStatement[] } | undefined {
  return (error) => {
    const rule = declinedBy(plan, error);
    return rule ? { error: riskDeclinedError(rule), statements: [declineEventStatement(db, rule, event)] } : undefined;
  };
}
