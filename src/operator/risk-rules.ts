import { createRoute, z } from "@hono/zod-openapi";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { type RiskRule, RiskRuleSchema, RiskRuleSetSchema } from "../risk/rules";
import { readRuleSet, replaceRuleSet } from "../risk/store";

/** `GET` and `PUT /admin/v1/risk-rules` (operator-api.md "Risk rules"): the whole rule set. */

const RuleSetResponse = z
  .object({
    rules: z.array(RiskRuleSchema),
    version: z.number().int().openapi({ description: "Incremented by every PUT" }),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable().openapi({ description: "The operator token's sub that set it" }),
  })
  .openapi("RiskRuleSetState");

export const riskRuleRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-rules",
      tags: ["Operator: risk"],
      summary: "The risk rule set, in order",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse("The rule set", RuleSetResponse),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const set = await readRuleSet(c.env.DB);
      return c.json(
        {
          rules: set.rules,
          version: set.version,
          updated_at: set.updatedAt === null ? null : toRfc3339(set.updatedAt),
          updated_by: set.updatedBy,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/risk-rules",
      tags: ["Operator: risk"],
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
      const now = c.get("now");
      const partnerIds = [...new Set(rules.flatMap((rule) => (rule.partner_id === undefined ? [] : [rule.partner_id])))];
      if (partnerIds.length > 0) {
        const { results } = await db
          .prepare(`SELECT id FROM partners WHERE id IN (${partnerIds.map((_, i) => `?${i + 1}`).join(", ")})`)
          .bind(...partnerIds)
          .all<{ id: string }>();
        const known = new Set(results.map((row) => row.id));
        const i = rules.findIndex((rule) => rule.partner_id !== undefined && !known.has(rule.partner_id));
        if (i >= 0)
          throw new ApiError(
            "invalid_body",
            `rules.${i}.partner_id: no partner ${rules[i]?.partner_id}`,
            `rules.${i}.partner_id`,
          );
      }
      await replaceRuleSet(db, rules, c.get("operator").sub, now);
      const set = await readRuleSet(db);
      return c.json(
        {
          rules: set.rules,
          version: set.version,
          updated_at: set.updatedAt === null ? null : toRfc3339(set.updatedAt),
          updated_by: set.updatedBy,
        },
        200,
      );
    },
  );
};
