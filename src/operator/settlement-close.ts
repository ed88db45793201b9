import { createRoute, z } from "@hono/zod-openapi";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { rawJson } from "../http/raw-json";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS, Rfc3339 } from "../http/schemas";
import { tag } from "../http/tags";
import { operatorClose } from "../settlement/close";
import { openPeriod } from "../settlement/periods";
import { ReportSchema } from "../settlement/schemas";

const CloseBody = z.strictObject({ period_end: Rfc3339.optional() }).openapi("SettlementClose", { example: {} });

const OpenPeriodSchema = z.object({ start: z.string(), end: z.string() }).openapi("OpenPeriod", {
  description: "The period open after this call: from the end of the last closed one to its scheduled end",
});

export const settlementCloseRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/settlements/close",
      tags: tag("operatorSettlement"),
      summary: "Close every scheduled period that has ended, or cut the open period at period_end (off-cycle)",
      security: [{ OperatorToken: [] }],
      request: { body: { ...jsonBody(CloseBody), required: false } },
      responses: {
        200: jsonResponse(
          "The reports closed by this call, oldest first (none when no scheduled period has ended), and the period open now",
          z.object({ data: z.array(ReportSchema), open_period: OpenPeriodSchema }),
        ),
        ...errorResponses("invalid_body", "unknown_field", "settlement_closed", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body: { period_end?: string } = c.req.valid("json") ?? {};
      const now = c.get("now");
      // Periods are cut on whole seconds, as times are shown.
      const periodEnd = body.period_end === undefined ? undefined : Math.floor(Date.parse(body.period_end) / 1000) * 1000;
      if (periodEnd !== undefined && periodEnd > now) {
        throw new ApiError("invalid_body", "period_end must not be in the future", "period_end");
      }
      const texts = await operatorClose(c.env, { now, by: c.get("operator").sub, periodEnd });
      // The open period tells a caller whose close answered no report why: it has not ended yet.
      const open = await openPeriod(c.env.DB);
      const openJson = JSON.stringify({ start: toRfc3339(open.start), end: toRfc3339(open.end) });
      return rawJson(`{"data":[${texts.join(",")}],"open_period":${openJson}}`) as never;
    },
  );
};
