import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { decodeCursor, page } from "../http/pagination";
import { rawJson, rawJsonList } from "../http/raw-json";
import { errorResponses, jsonResponse, ListQuery, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { SettlementParams, StatementSchema, settlementNotFound } from "../settlement/schemas";
import { getStatementText, listStatementTexts } from "../settlement/store";

/** partner-api.md §7: the calling partner's signed statements, served as they were signed. */
export const settlementRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements",
      tags: tag("partnerSettlement"),
      summary: "The calling partner's statements, one per closed period it took part in, newest first",
      security: [{ CoalitionSignature: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Statements", z.object({ data: z.array(StatementSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("invalid_param", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const rows = await listStatementTexts(c.env.DB, c.get("partner").id, limit + 1, position ? String(position.id) : undefined);
      const result = page(rows, limit, (last) => ({ id: last.id }));
      return rawJsonList(
        result.data.map((s) => s.text),
        result.next_cursor,
      ) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}",
      tags: tag("partnerSettlement"),
      summary: "The calling partner's signed statement of one period (the body is the statement)",
      security: [{ CoalitionSignature: [] }],
      request: { params: SettlementParams },
      responses: {
        200: jsonResponse("The statement", StatementSchema),
        ...errorResponses("settlement_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const text = await getStatementText(c.env.DB, c.req.valid("param").id, c.get("partner").id);
      if (text === null) throw settlementNotFound();
      return rawJson(text) as never;
    },
  );
};
