import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import type { ApiError } from "../http/errors";
import type { RiskRequest } from "./evaluate";
import type { RuleSet } from "./rules";
import { planRisk, type RiskEventContext, type RiskPlan, riskCommitError, sqlText } from "./sql";

/**
 * The risk check of an earn or a burn (partner-api.md §6), wired into the route's idempotent
 * batch: `statusSql` goes to the ledger plan, `wrap` puts the risk statements around the
 * ledger's, `onCommitError` turns a decline into the stored 422 and its risk event.
 */
export interface LedgerRiskCheck {
  plan: RiskPlan;
  statusSql: string | undefined;
  wrap(statements: D1PreparedStatement[]): D1PreparedStatement[];
  onCommitError: (error: unknown) => { error: ApiError; statements: D1PreparedStatement[] } | undefined;
}

export function ledgerRiskCheck(
  c: Context<AppEnv>,
  rules: RuleSet,
  args: {
    kind: "earn" | "burn";
    txnId: string;
    memberId: string;
    memberCreatedAt: number;
    memberRef: string;
    points: number;
    context: { ip: string; device_id?: string | undefined };
  },
): LedgerRiskCheck {
  const db = c.env.DB;
  const now = c.get("now");
  const partnerId = c.get("partner").id;
  const req: RiskRequest = {
    kind: args.kind,
    partnerId,
    memberAgeMs: Math.max(0, now - args.memberCreatedAt),
    memberId: args.memberId,
    points: args.points,
    ip: args.context.ip,
    ...(args.context.device_id === undefined ? {} : { deviceId: args.context.device_id }),
    now,
  };
  const plan = planRisk(db, rules, req, { memberSql: sqlText(args.memberId) });
  const event: RiskEventContext = {
    at: now,
    appliesTo: args.kind,
    partnerId,
    memberId: args.memberId,
    memberRef: args.memberRef,
    points: args.points,
    ip: args.context.ip,
    deviceId: args.context.device_id ?? null,
    requestId: c.get("requestId"),
  };
  return {
    plan,
    statusSql: plan.statusSql,
    wrap: (statements) => [...plan.before, ...statements, ...plan.after(args.txnId, event)],
    onCommitError: riskCommitError(db, plan, event),
  };
}
