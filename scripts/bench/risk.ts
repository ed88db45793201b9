/**
 * Risk rules (operator-api.md "Risk rules"): whether PUT/GET /admin/v1/risk-rules exist on this
 * build, and setting the rule set (the demo coalition's defaults, or none).
 */
import type { HttpResult } from "../lib/http";
import { DEMO_RISK_RULES } from "../seed/demo-coalition";
import { describe } from "./setup";

type Op = (method: string, path: string, body?: unknown) => Promise<HttpResult>;

function missingRoute(r: HttpResult): boolean {
  return r.status === 404 && r.json?.error?.code === "not_found";
}

/** Undefined when the endpoint exists, else why not. */
export async function riskUnavailable(op: Op): Promise<string | undefined> {
  const r = await op("GET", "/risk-rules");
  if (missingRoute(r)) return "endpoint not available";
  if (!r.ok) return `GET /admin/v1/risk-rules answered ${describe(r)}`;
  return undefined;
}

export async function setRiskRules(op: Op, rules: "default" | "none"): Promise<void> {
  const body = { rules: rules === "default" ? DEMO_RISK_RULES : [] };
  const r = await op("PUT", "/risk-rules", body);
  if (!r.ok) throw new Error(`PUT /admin/v1/risk-rules (${rules}) answered ${describe(r)}`);
}
