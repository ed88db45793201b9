/**
 * Risk limits (operator-api.md "Risk rules", partner-api.md §6). What the rest of the code and
 * `npm run bench` use:
 *
 * - `ledgerRiskCheck` (earn, burn) and `planEnrolment` (enrolment) put the rules' statements in
 *   the request's own batch; at N > 1, `ledgerRiskCheckAcrossShards` and `planEnrolmentAcrossShards`
 *   (./split.ts) count device and IP windows in a batch on main first, then the member's shard
 *   batch. The operator API is in src/operator (risk-rules, risk-events, reviews);
 *   `rejectTimedOutReviews` and `pruneRiskCounters` are scheduled jobs.
 * - For the bench: `BENCH_EARN_RULES` is a rule set under which every earn updates and checks
 *   windowed counters (per member, device and IP, and distinct members per device), with limits
 *   no bench reaches; the demo defaults are `DEMO_RISK_RULES` in scripts/seed/demo-coalition.ts.
 *   Set either with `PUT /admin/v1/risk-rules { rules }` (or `{ rules: [] }` for none) and compare.
 *   `riskPlanCost` says, without D1, what one request's check costs under a rule set.
 */
import { applicableRules, countersOf, type RiskRequest } from "./evaluate";
import type { RiskRule, RuleSet } from "./rules";
import { BUCKETS_PER_WINDOW } from "./window";

export { ledgerRiskCheck, ledgerRiskCheckAcrossShards, type SplitLedgerRiskCheck } from "./check";
export { planEnrolment, planEnrolmentAcrossShards, type SplitEnrolmentPlan } from "./enrol";
export { applicableRules, type RiskRequest } from "./evaluate";
export { rejectTimedOutReviews } from "./reviews";
export { compileRuleSet, type RiskRule, RiskRuleSetSchema, type RuleSet } from "./rules";
export { type MainDecision, planRiskAcrossShards, type SplitOptions, type SplitRiskPlan } from "./split";
export { planRisk } from "./sql";
export { loadRuleSet, pruneRiskCounters } from "./store";
export { BUCKETS_PER_WINDOW } from "./window";

/** Windowed earn rules whose limits a bench never reaches: each earn pays the full cost of the checks. */
export const BENCH_EARN_RULES: RiskRule[] = [
  {
    id: "bench-member-earn",
    action: "deny",
    applies_to: "earn",
    subject: "member",
    window_seconds: 3600,
    max_count: 1_000_000_000,
    max_points: 1_000_000_000_000,
  },
  {
    id: "bench-device-earn",
    action: "deny",
    applies_to: "earn",
    subject: "device",
    window_seconds: 3600,
    max_count: 1_000_000_000,
    max_distinct_members: 1_000_000,
  },
  { id: "bench-ip-earn", action: "review", applies_to: "earn", subject: "ip", window_seconds: 86_400, max_count: 1_000_000_000 },
  { id: "bench-earn-single", action: "deny", applies_to: "earn", subject: "transaction", max_points: 1_000_000_000_000 },
];

export interface RiskPlanCost {
  /** Rules checked (the others do not apply, or were decided before the batch not to trip). */
  rules: number;
  /** Window sums evaluated (each reads at most BUCKETS_PER_WINDOW + 1 counter rows). */
  windowChecks: number;
  /** Counter rows upserted (one per counter). */
  counters: number;
  /** Counters that also track distinct members (one lookup, up to three row writes each). */
  distinctCounters: number;
  /** An upper bound of the counter rows read by the deny guard and status expression, whatever the history. */
  maxCounterRowsRead: number;
}

/** What checking `req` against `set` costs, independent of how much history the counters hold. */
export function riskPlanCost(set: RuleSet, req: RiskRequest): RiskPlanCost {
  const rules = applicableRules(set, req);
  const counters = countersOf(rules);
  const windowChecksOf = (r: (typeof rules)[number]) => r.checks.filter((c) => c.type === "window").length;
  const windowChecks = rules.reduce((n, r) => n + windowChecksOf(r), 0);
  // A review rule's sums are evaluated twice: for the status, and to record which rule sent the transaction to review.
  const evaluations = rules.reduce((n, r) => n + windowChecksOf(r) * (r.rule.action === "review" ? 2 : 1), 0);
  const distinctCounters = counters.filter((c) => c.distinct).length;
  return {
    rules: rules.length,
    windowChecks,
    counters: counters.length,
    distinctCounters,
    maxCounterRowsRead: evaluations * (BUCKETS_PER_WINDOW + 1) + distinctCounters * 2,
  };
}
