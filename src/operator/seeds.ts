import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { SeedParams, SeedResponse } from "../seeds/schemas";
import { getSeed, renderSeed, seedNotFound } from "../seeds/store";

export const seedRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/seeds/{name}",
      tags: tag("operatorSeeds"),
      summary: "Whether a one-time seed (e.g. npm start's demo-coalition) ran on this database, when and by whom",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams },
      responses: {
        200: jsonResponse("The seed's record", SeedResponse),
        ...errorResponses("invalid_param", "seed_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const row = await getSeed(c.env.DB, name);
      if (!row) throw seedNotFound(name);
      return c.json({ seed: renderSeed(row) }, 200);
    },
  );
};
