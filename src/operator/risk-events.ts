import { createRoute, z } from "@hono/zod-openapi";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { listRiskEvents } from "../risk/store";

/** `GET /admin/v1/risk-events` (operator-api.md "Risk rules"): declines and reviews, newest first. */

const RiskEventSchema = z
  .object({
    id: z.string().openapi({ example: "rsk_42" }),
    at: z.string(),
    rule_id: z.string(),
    action: z
      .enum(["deny", "review"])
      .openapi({ description: "deny: the request was declined (422 risk_declined); review: the transaction was sent to review" }),
    applies_to: z.enum(["earn", "burn", "enroll"]),
    partner_id: z.string(),
    member_id: z.string().nullable(),
    member_ref: z.string().nullable(),
    transaction_id: z.string().nullable().openapi({ description: "The transaction sent to review; a declined request has none" }),
    points: z.number().int().nullable(),
    context: z.object({
      ip: z.string().openapi({ description: "Normalised (IPv4-mapped IPv6 as IPv4)" }),
      device_id: z.string().optional(),
    }),
    request_id: z.string().nullable(),
  })
  .openapi("RiskEvent");

const FilterString = (name: string, max = 128) =>
  z
    .string()
    .min(1)
    .max(max)
    .optional()
    .openapi({ param: { name, in: "query" } });

export const riskEventRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-events",
      tags: ["Operator: risk"],
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
      return c.json(
        {
          data: result.data.map((e) => ({
            id: `rsk_${e.id}`,
            at: toRfc3339(e.at),
            rule_id: e.rule_id,
            action: e.action,
            applies_to: e.applies_to,
            partner_id: e.partner_id,
            member_id: e.member_id,
            member_ref: e.member_ref,
            transaction_id: e.transaction_id,
            points: e.points,
            context: { ip: e.ip, ...(e.device_id === null ? {} : { device_id: e.device_id }) },
            request_id: e.request_id,
          })),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );
};
