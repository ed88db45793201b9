import type { Sql } from "../db/sql-template";
import type { ApiError } from "../http/errors";
import { memberAgeMs } from "../ledger/member";
import type { RiskRequest } from "./evaluate";
import type { RuleSet } from "./rules";
import { type MainDecision, planRiskAcrossShards, type SplitOptions } from "./split";
import { planRisk, type RiskEventContext, type RiskPlan, type RiskPlanOptions, riskFailure } from "./sql";

/**
 * The risk check of an earn or a burn (partner-api.md §6), for its one batch: `status` goes to
 * the ledger plan, `wrap` puts the risk statements around the ledger's, `onFailure` turns a
 * decline into the stored 422 and its risk event.
 */
export interface LedgerRiskCheck {
  plan: RiskPlan;
  status(planned: string): Sql | undefined;
  wrap(statements: Sql[]): Sql[];
  onFailure: (error: unknown) => { error: ApiError; statements: Sql[] } | undefined;
}

export interface LedgerRiskArgs {
  kind: "earn" | "burn";
  partnerId: string;
  txnId: string;
  member: Sql;
  memberRef: string;
  points: number;
  context: { ip: string; device_id?: string | undefined };
  now: number;
  requestId: string;
}

function requestOf(args: LedgerRiskArgs): RiskRequest {
  return {
    kind: args.kind,
    partnerId: args.partnerId,
    hasMember: true,
    points: args.points,
    ip: args.context.ip,
    ...(args.context.device_id === undefined ? {} : { deviceId: args.context.device_id }),
    now: args.now,
  };
}

function eventOf(args: LedgerRiskArgs): RiskEventContext {
  return {
    at: args.now,
    appliesTo: args.kind,
    partnerId: args.partnerId,
    member: args.member,
    memberRef: args.memberRef,
    points: args.points,
    ip: args.context.ip,
    deviceId: args.context.device_id ?? null,
    requestId: args.requestId,
  };
}

/** The member is resolved by the batch: its age too. */
function optionsOf(args: LedgerRiskArgs): RiskPlanOptions {
  return { member: args.member, memberAge: memberAgeMs(args.member, args.now) };
}

function checkOf(plan: RiskPlan, args: LedgerRiskArgs, onFailure: LedgerRiskCheck["onFailure"]): LedgerRiskCheck {
  const event = eventOf(args);
  return {
    plan,
    status: plan.status,
    wrap: (statements) => [...plan.before, ...statements, ...plan.after(args.txnId, event)],
    onFailure,
  };
}

export function ledgerRiskCheck(rules: RuleSet, args: LedgerRiskArgs): LedgerRiskCheck {
  const plan = planRisk(rules, requestOf(args), optionsOf(args));
  return checkOf(plan, args, riskFailure(plan, eventOf(args)));
}

/**
 * The check of an earn or a burn at N > 1 (./split.ts): `main` for round 1's batch on main, then
 * `shard(decision(results))` is the LedgerRiskCheck of the member's shard batch, as at N = 1.
 * `onFailure` reads an error of either batch: a decline decided in main gives the same 422
 * `risk_declined` and risk event statement as one decided in the shard, for the router to store
 * on the member's shard (the event resolves the member there, as the shard batch would).
 */
export interface SplitLedgerRiskCheck {
  main: Sql[];
  decision(mainResults: readonly D1Result[]): MainDecision;
  shard(decision: MainDecision): LedgerRiskCheck;
  onFailure: LedgerRiskCheck["onFailure"];
}

export function ledgerRiskCheckAcrossShards(
  rules: RuleSet,
  args: LedgerRiskArgs & Omit<SplitOptions, "memberRef">,
): SplitLedgerRiskCheck {
  const split = planRiskAcrossShards(rules, requestOf(args), optionsOf(args), {
    memberRef: args.memberRef,
    memberKey: args.memberKey,
    memberAgeMs: args.memberAgeMs,
  });
  const onFailure = riskFailure(split, eventOf(args));
  return {
    main: split.main,
    decision: split.decision,
    shard: (decision) => checkOf(split.shard(decision), args, onFailure),
    onFailure,
  };
}
