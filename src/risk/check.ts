import type { Sql } from "../db/sql-template";
import type { ApiError } from "../http/errors";
import { memberAgeMs } from "../ledger/member";
import type { RiskRequest } from "./evaluate";
import type { RuleSet } from "./rules";
import { planRisk, type RiskEventContext, type RiskPlan, riskFailure } from "./sql";

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

export function ledgerRiskCheck(
  rules: RuleSet,
  args: {
    kind: "earn" | "burn";
    partnerId: string;
    txnId: string;
    member: Sql;
    memberRef: string;
    points: number;
    context: { ip: string; device_id?: string | undefined };
    now: number;
    requestId: string;
  },
): LedgerRiskCheck {
  const req: RiskRequest = {
    kind: args.kind,
    partnerId: args.partnerId,
    hasMember: true,
    points: args.points,
    ip: args.context.ip,
    ...(args.context.device_id === undefined ? {} : { deviceId: args.context.device_id }),
    now: args.now,
  };
  const plan = planRisk(rules, req, { member: args.member, memberAge: memberAgeMs(args.member, args.now) });
  const event: RiskEventContext = {
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
  return {
    plan,
    status: plan.status,
    wrap: (statements) => [...plan.before, ...statements, ...plan.after(args.txnId, event)],
    onFailure: riskFailure(plan, event),
  };
}
