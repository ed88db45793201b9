import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { pointsMetrics } from "../settlement/metrics";

export const metricsRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: tag("operatorSettlement"),
      summary:
        "Points-economy health: outstanding and liability by issuer, issued/redeemed/expired per period, breakage, exposure",
      security: [{ OperatorToken: [] }],
      request: {
        query: z.strictObject({
          periods: z.coerce
            .number()
            .int()
            .min(1)
            .max(100)
            .default(12)
            .openapi({ param: { name: "periods", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("Metrics", z.object({}).passthrough()),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => c.json(await pointsMetrics(c.env, c.get("now"), c.req.valid("query").periods), 200),
  );
};
