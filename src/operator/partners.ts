import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { PartnerParams, PartnerResponse, PartnerSchema } from "../partners/schemas";
import { listPartners, partnerDetail, renderPartner } from "../partners/store";

export const partnerRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/partners",
      tags: tag("operatorPartners"),
      summary: "List partners",
      security: [{ OperatorToken: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Partners", listOf(PartnerSchema)),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = decodeCursor(cursor, ["id"]);
      const rows = await listPartners(c.env.DB, { limit: limit + 1, afterId: after ? String(after.id) : undefined });
      const result = page(rows, limit, (p) => ({ id: p.id }));
      return c.json(
        { data: result.data.map((p) => renderPartner(p, c.env.SETTLEMENT_CURRENCY)), next_cursor: result.next_cursor },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners/{id}",
      tags: tag("operatorPartners"),
      summary: "Get a partner with its funding position, exposure and keys",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams },
      responses: {
        200: jsonResponse("The partner", PartnerResponse),
        ...errorResponses("partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json({ partner: await partnerDetail(c.env.DB, id, c.env.SETTLEMENT_CURRENCY, c.get("now")) }, 200);
    },
  );
};
