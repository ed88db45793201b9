import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, FilterString, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { RiskEventSchema } from "../risk/schemas";
import { listRiskEvents, renderRiskEvent } from "../risk/store";

export const riskEventRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-events",
      tags: tag("operatorRisk"),
      summary: "The risk event log, newest first: declines (deny) and transactions sent to review",
      security: [{ OperatorToken: [] }],
      request: {
        query: ListQuery.extend({
          rule_id: FilterString("rule_id", 64),
          partner_id: FilterString("partner_id", 40),
          member_id: FilterString("member_id", 64),
        }),
      },
      responses: {
        200: jsonResponse("Risk events", listOf(RiskEventSchema)),
        ...errorResponses("invalid_param", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, rule_id, partner_id, member_id } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const beforeId = position === undefined ? undefined : Number(position.id);
      if (beforeId !== undefined && !Number.isSafeInteger(beforeId)) throw badCursor();
      const rows = await listRiskEvents(c.env.DB, {
        limit: limit + 1,
        beforeId,
        ruleId: rule_id,
        partnerId: partner_id,
        memberId: member_id,
      });
      const result = page(rows, limit, (e) => ({ id: e.id }));
      return c.json({ data: result.data.map(renderRiskEvent), next_cursor: result.next_cursor }, 200);
    },
  );
};
