import { createRoute, z } from "@hono/zod-openapi";
import { auditStatement } from "../audit/log";
import { runBatch } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { copySchedule } from "../settlement/across-shards";
import { closedThrough, nextBoundary, readConfig, scheduleChange } from "../settlement/periods";

const ConfigBody = z
  .strictObject({
    period: z.enum(["daily", "weekly", "monthly"]).optional(),
    utc_offset_minutes: z
      .number()
      .int()
      .min(-720)
      .max(840)
      .refine((n) => n % 15 === 0, "must be a whole number of quarter hours")
      .optional(),
    grace_seconds: z.number().int().min(0).max(86_400).optional(),
  })
  .openapi("SettlementConfig", { example: { period: "monthly", utc_offset_minutes: 480, grace_seconds: 3600 } });

async function configJson(db: D1Database) {
  const [config, closed] = await Promise.all([readConfig(db), closedThrough(db)]);
  return {
    period: config.period,
    utc_offset_minutes: config.utcOffsetMinutes,
    grace_seconds: config.graceSeconds,
    closed_through: toRfc3339(closed),
    // Additive: the period open now and its scheduled end (before grace), so a console can say when it closes.
    open_period: { start: toRfc3339(closed), end: toRfc3339(nextBoundary(closed, config)) },
  };
}

export const settlementConfigRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlement-config",
      tags: tag("operatorSettlement"),
      summary: "How periods are cut: daily, weekly or monthly, UTC offset, grace before the scheduled close",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse("The configuration", z.object({}).passthrough()),
        ...errorResponses(...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => c.json(await configJson(c.env.DB), 200),
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/settlement-config",
      tags: tag("operatorSettlement"),
      summary: "Change the period schedule; applies from the open period on (closed periods never change)",
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(ConfigBody) },
      responses: {
        200: jsonResponse("The configuration", z.object({}).passthrough()),
        ...errorResponses("invalid_body", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const now = c.get("now");
      const actor = c.get("operator").sub;
      await runBatch(c.env.DB, [
        scheduleChange(body, now),
        auditStatement({ at: now, actor, action: "settlement.configure", target: "settlement", detail: body }),
      ]);
      await copySchedule(c.env);
      return c.json(await configJson(c.env.DB), 200);
    },
  );
};
