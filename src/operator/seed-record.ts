import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { RecordSeed, SeedParams, SeedResponse } from "../seeds/schemas";
import { recordSeed, renderSeed } from "../seeds/store";

export const seedRecordRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "put",
      path: "/seeds/{name}",
      tags: tag("operatorSeeds"),
      summary: "Record that a one-time seed ran (201); an existing record is kept as it is (200)",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams, body: jsonBody(RecordSeed) },
      responses: {
        201: jsonResponse("The new record", SeedResponse),
        200: jsonResponse("The record that already existed, unchanged", SeedResponse),
        ...errorResponses("invalid_body", "unknown_field", "invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const { detail = {} } = c.req.valid("json");
      const { row, created } = await recordSeed(c.env.DB, { name, detail, actor: c.get("operator").sub, now: c.get("now") });
      return c.json({ seed: renderSeed(row) }, created ? 201 : 200);
    },
  );
};
