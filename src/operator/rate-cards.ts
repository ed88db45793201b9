import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { PartnerParams } from "../partners/schemas";
import { mustGetPartner } from "../partners/store";
import { listRateCards, renderRateCard } from "../rates/cards";
import { RateCardSchema } from "../rates/schemas";

export const rateCardRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/partners/{id}/rate-cards",
      tags: tag("operatorRates"),
      summary: "List a partner's rate-card versions, latest effective first (the first one in force now or earlier is in force)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, query: ListQuery },
      responses: {
        200: jsonResponse("Versions", listOf(RateCardSchema)),
        ...errorResponses("invalid_param", "partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const db = c.env.DB;
      const position = decodeCursor(cursor, ["e", "c", "s"]);
      const after = position
        ? { effectiveFrom: Number(position.e), createdAt: Number(position.c), seq: Number(position.s) }
        : undefined;
      if (after && ![after.effectiveFrom, after.createdAt, after.seq].every(Number.isSafeInteger)) throw badCursor();
      await mustGetPartner(db, id);
      const rows = await listRateCards(db, id, { limit: limit + 1, after });
      const result = page(rows, limit, ({ position: p }) => ({ e: p.effectiveFrom, c: p.createdAt, s: p.seq }));
      return c.json({ data: result.data.map(renderRateCard), next_cursor: result.next_cursor }, 200);
    },
  );
};
