import { join, raw, type Sql, sql } from "../db/sql-template";
import { type ApplicableRule, applicableRules, type RiskRequest } from "./evaluate";
import type { RuleSet } from "./rules";
import { counterPart, denyGuard, planOfRules, type RiskPlan, type RiskPlanOptions, ruleTrips } from "./sql";

/**
 * The risk rules of a request whose member lives on a shard other than main, or on any shard at
 * N > 1 (docs/design/shards.md "Risk windows across members"). A device or an IP is used by
 * members on every shard, so its windows (count, points, distinct members) are counted where
 * every request passes: in main, in the batch the router sends before the member's shard batch
 * (round 1). Rules on the member stay in the shard's batch exactly as in the unsplit plan.
 *
 * Main's batch increments the counters of every applicable rule whose subject is not the member
 * and runs the same deny guard over them, so a decline there names the same rule (`declinedBy`
 * reads main's error as a shard's) and rolls main's increments back. An increment that commits is
 * a reservation: it is never given back, even when the shard's batch then fails or declines, so
 * across shards a count may only err strict (it never lets one more through than the limit).
 * Main's last statement reports the review rules that tripped (and the rules main could not
 * decide, below); `decision` reads them and `shard` turns them into constants of the shard batch,
 * where a member review rule is still decided by SQL, and the first in rule-set order is recorded.
 *
 * Two things only the shard knows, and what main does without them:
 *  - The member's identity, for distinct members per device/IP: `memberKey` (the member id, when
 *    the router knows it), else `ref:<partner_id>:<member_ref>` (partner ids have no colon). One
 *    member reached through two partners' refs is then counted twice: strict, never lax.
 *  - The member's age, for `member_age_below_seconds`: given `memberAgeMs`, main decides whether
 *    such a rule applies. Without it main counts the request as if the member were young (the
 *    counter also holds older members' traffic: strict) and reports whether the rule tripped;
 *    the shard applies that result only if its member is younger than the rule's age (a deny
 *    then aborts the shard batch, naming the rule, and main's increment stays: strict).
 */

export interface SplitOptions {
  /** The request's member_ref: with `req.partnerId`, main's stand-in for the member when `memberKey` is unknown. */
  memberRef: string;
  /** The member's id when the caller knows it: counted as the member in main's distinct members. */
  memberKey?: string | undefined;
  /** now − the member's created_at (ms), when the caller knows it: main decides the age rules itself. */
  memberAgeMs?: number | undefined;
}

/** What main's batch decided that the shard's batch applies: the positions of the rules it reported tripped. */
export interface MainDecision {
  readonly tripped: readonly number[];
}

export interface SplitRiskPlan {
  /** Every rule the request was checked against (rule-set order): `declinedBy` reads main's and the shard's errors with it. */
  rules: readonly ApplicableRule[];
  /** Statements for main's batch (round 1), in order; empty when no rule has a subject other than the member. */
  main: Sql[];
  /** Reads main's decision from the D1 results of exactly the `main` statements, in order (slice them out of round 1's results). */
  decision(mainResults: readonly D1Result[]): MainDecision;
  /** The shard batch's part (`before`, `status`, `after` as the unsplit plan's), with main's decision as constants. */
  shard(decision: MainDecision): RiskPlan;
}

/** The stand-in for the member in main's distinct-member counts. */
export function mainMemberKey(partnerId: string, split: SplitOptions): string {
  return split.memberKey ?? `ref:${partnerId}:${split.memberRef}`;
}

/** A rule main counts: as the rule set has it, as main counts it, and whether only the shard can decide it (the member's age). */
interface MainRule {
  rule: ApplicableRule;
  counted: ApplicableRule;
  deferred: boolean;
}

/** The rules whose subject is not the member, as main counts them: an age condition decided by a known age, or dropped (as if young). */
function mainRules(rules: readonly ApplicableRule[], ageMs: number | undefined): MainRule[] {
  return rules
    .filter((r) => r.rule.subject !== "member")
    .flatMap((rule) => {
      if (rule.memberYoungerThanMs === undefined) return [{ rule, counted: rule, deferred: false }];
      if (ageMs !== undefined && ageMs >= rule.memberYoungerThanMs) return [];
      const { memberYoungerThanMs: _, ...counted } = rule;
      return [{ rule, counted, deferred: ageMs === undefined }];
    });
}

/** Main's report: one row, a column `r<position>` per reported rule, 1 when it tripped. */
function reportStatement(reported: readonly MainRule[], req: RiskRequest, o: RiskPlanOptions): Sql[] {
  if (reported.length === 0) return [];
  // A position is an integer of the compiled rule set, never input: safe as a column name.
  const columns = reported.map((r) => sql`${ruleTrips(r.counted, req.now, o)} AS ${raw(`r${r.rule.position}`)}`);
  return [sql`SELECT ${join(columns)}`];
}

/** Main's decision, from the results of exactly its statements (the report is the last). */
function readDecision(reported: readonly MainRule[], statements: number, results: readonly D1Result[]): MainDecision {
  if (reported.length === 0) return { tripped: [] };
  if (results.length !== statements) throw new Error(`expected the results of ${statements} statements, got ${results.length}`);
  const row = results[statements - 1]?.results?.[0] as Record<string, unknown> | undefined;
  if (!row) throw new Error("main's risk report returned no row");
  return { tripped: reported.filter((r) => Number(row[`r${r.rule.position}`]) === 1).map((r) => r.rule.position) };
}

/** The shard's rules: the member's, and what main reported tripped as checks decided before the batch (a deferred one keeps its age condition). */
function shardRules(onMember: readonly ApplicableRule[], reported: readonly MainRule[], d: MainDecision): ApplicableRule[] {
  const decided = reported
    .filter((r) => d.tripped.includes(r.rule.position))
    .map((r): ApplicableRule => ({ ...(r.deferred ? r.rule : r.counted), checks: [{ type: "static", trips: true }] }));
  return [...onMember, ...decided].sort((a, b) => a.position - b.position);
}

export function planRiskAcrossShards(set: RuleSet, req: RiskRequest, o: RiskPlanOptions, split: SplitOptions): SplitRiskPlan {
  const rules = applicableRules(set, req);
  const inMain = mainRules(rules, split.memberAgeMs);
  const mainOptions: RiskPlanOptions = { member: sql`${mainMemberKey(req.partnerId, split)}` };
  const reported = inMain.filter((r) => r.deferred || r.rule.rule.action === "review");
  const guarded = inMain.filter((r) => !r.deferred).map((r) => r.counted);
  const main = [
    ...counterPart(
      inMain.map((r) => r.counted),
      req,
      mainOptions,
    ),
    ...denyGuard(guarded, req, mainOptions),
    ...reportStatement(reported, req, mainOptions),
  ];
  const onMember = rules.filter((r) => r.rule.subject === "member");
  return {
    rules,
    main,
    decision: (results) => readDecision(reported, main.length, results),
    shard: (d) => planOfRules(shardRules(onMember, reported, d), req, o),
  };
}
