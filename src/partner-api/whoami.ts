import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";

/** `GET /v1/partner`: who the signature says the caller is (a cheap signed call to try first). */
export const whoamiRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/partner",
      tags: tag("partnerSigned"),
      summary: "The calling partner, as its signature identifies it",
      security: [{ CoalitionSignature: [] }],
      responses: {
        200: jsonResponse("The caller", z.object({ partner: z.object({ id: z.string(), name: z.string(), kid: z.string() }) })),
        ...errorResponses(...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const p = c.get("partner");
      return runRead(c, () => ({
        statements: [sql`SELECT name FROM partners WHERE id = ${p.id}`],
        answer: ([row]) => {
          const name = (row?.results[0] as { name: string } | undefined)?.name ?? p.id;
          return c.json({ partner: { id: p.id, name, kid: p.kid } }, 200);
        },
      }));
    },
  );
};
