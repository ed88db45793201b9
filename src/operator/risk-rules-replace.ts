import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { type RiskRule, RiskRuleSetSchema } from "../risk/rules";
import { RuleSetResponse } from "../risk/schemas";
import { readRuleSet, renderRuleSet, replaceRuleSet, requireRulePartners } from "../risk/store";

export const riskRuleReplaceRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "put",
      path: "/risk-rules",
      tags: tag("operatorRisk"),
      summary: "Replace the whole risk rule set (at most 100 rules; order matters: the first tripped rule names a decline)",
      description:
        'Each rule is a limit (max_count, max_points, max_distinct_members over window_seconds per member, device or IP; or max_points of one transaction) or a block list (`block`: IPs and CIDR ranges, or device ids). Windows are bucketed: a window counts everything in it, and at most one tenth of a window more (README "Risk rules").',
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(RiskRuleSetSchema) },
      responses: {
        200: jsonResponse("The new rule set", RuleSetResponse),
        ...errorResponses("invalid_body", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { rules } = c.req.valid("json") as { rules: RiskRule[] };
      const db = c.env.DB;
      await requireRulePartners(db, rules);
      await replaceRuleSet(db, rules, c.get("operator").sub, c.get("now"));
      return c.json(renderRuleSet(await readRuleSet(db)), 200);
    },
  );
};
