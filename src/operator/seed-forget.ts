import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { SeedParams, SeedResponse } from "../seeds/schemas";
import { forgetSeed, renderSeed } from "../seeds/store";

export const seedForgetRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "delete",
      path: "/seeds/{name}",
      tags: tag("operatorSeeds"),
      summary: "Forget a seed's record, so the tool that seeds runs it again (npm start: on its next start)",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams },
      responses: {
        200: jsonResponse("The record that was deleted", SeedResponse),
        ...errorResponses("invalid_param", "seed_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const row = await forgetSeed(c.env.DB, { name, actor: c.get("operator").sub, now: c.get("now") });
      return c.json({ seed: renderSeed(row) }, 200);
    },
  );
};
