import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { RuleSetResponse } from "../risk/schemas";
import { readRuleSet, renderRuleSet } from "../risk/store";

export const riskRuleRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-rules",
      tags: tag("operatorRisk"),
      summary: "The risk rule set, in order",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse("The rule set", RuleSetResponse),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => c.json(renderRuleSet(await readRuleSet(c.env.DB)), 200),
  );
};
